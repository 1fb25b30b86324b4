package com.example.jvmshop.export;

import java.util.List;

import com.example.jvmshop.catalog.Product;

/** Comma-separated values, RFC 4180 quoting. */
public final class CsvExporter implements Exporter {
    @Override
    public String contentType() {
        return "text/csv";
    }

    @Override
    public String export(List<Product> products) {
        StringBuilder sb = new StringBuilder("id,name,category,price,stock\r\n");
        for (Product p : products) {
            sb.append(p.id).append(',').append(quote(p.name)).append(',').append(quote(p.category)).append(',')
                    .append(p.priceCents / 100.0).append(',').append(p.stock()).append("\r\n");
        }
        return sb.toString();
    }

    private static String quote(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
