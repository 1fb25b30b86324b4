package com.example.jvmshop.export;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.example.jvmshop.catalog.Product;
import com.example.jvmshop.http.Json;

/** The products as a JSON array. */
public final class JsonExporter implements Exporter {
    @Override
    public String contentType() {
        return "application/json";
    }

    @Override
    public String export(List<Product> products) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Product p : products) {
            out.add(p.toMap());
        }
        return Json.write(out);
    }
}
