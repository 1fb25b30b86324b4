package com.example.jvmshop.export;

import java.util.List;

import com.example.jvmshop.catalog.Product;

/** A small XML document. */
public final class XmlExporter implements Exporter {
    @Override
    public String contentType() {
        return "application/xml";
    }

    @Override
    public String export(List<Product> products) {
        StringBuilder sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<products>\n");
        for (Product p : products) {
            sb.append("  <product id=\"").append(p.id).append("\" category=\"").append(escape(p.category)).append("\">")
                    .append(escape(p.name)).append("</product>\n");
        }
        return sb.append("</products>\n").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
