package com.example.jvmshop.export;

import java.util.List;

import com.example.jvmshop.catalog.Product;

/** Tab-separated values. */
public final class TsvExporter implements Exporter {
    @Override
    public String contentType() {
        return "text/tab-separated-values";
    }

    @Override
    public String export(List<Product> products) {
        StringBuilder sb = new StringBuilder("id\tname\tcategory\tprice\tstock\n");
        for (Product p : products) {
            sb.append(p.id).append('\t').append(p.name.replace('\t', ' ')).append('\t').append(p.category).append('\t')
                    .append(p.priceCents / 100.0).append('\t').append(p.stock()).append('\n');
        }
        return sb.toString();
    }
}
