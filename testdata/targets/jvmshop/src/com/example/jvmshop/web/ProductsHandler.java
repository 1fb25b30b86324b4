package com.example.jvmshop.web;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.example.jvmshop.catalog.Catalog;
import com.example.jvmshop.catalog.Product;
import com.example.jvmshop.http.Exchange;
import com.example.jvmshop.http.HttpError;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/** GET /products, GET /products/{id}, GET /products/categories. */
public final class ProductsHandler implements HttpHandler {
    private final Catalog catalog;

    public ProductsHandler(Catalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        Exchange.guard(ex, () -> {
            Exchange.requireMethod(ex, "GET");
            String path = ex.getRequestURI().getPath();
            if (path.equals("/products") || path.equals("/products/")) {
                list(ex);
            } else if (path.equals("/products/categories")) {
                Exchange.json(ex, 200, catalog.categories());
            } else {
                one(ex, path.substring("/products/".length()));
            }
        });
    }

    private void list(HttpExchange ex) throws IOException {
        Map<String, String> q = Exchange.query(ex);
        int limit = Exchange.intParam(q, "limit", 20, 1, 100);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Product p : catalog.list(q.get("category"), q.get("sort"), limit)) {
            out.add(p.toMap());
        }
        if (out.isEmpty() && q.containsKey("category")) {
            throw new HttpError(404, "no products in category " + q.get("category"));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("items", out);
        m.put("count", out.size());
        Exchange.json(ex, 200, m);
    }

    private void one(HttpExchange ex, String idText) throws IOException {
        int id;
        try {
            id = Integer.parseInt(idText);
        } catch (NumberFormatException e) {
            throw new HttpError(400, "product id must be an integer");
        }
        Product p = catalog.get(id).orElseThrow(() -> new HttpError(404, "no product " + id));
        Map<String, Object> m = p.toMap();
        m.put("available", p.stock() > 0);
        Exchange.json(ex, 200, m);
    }
}
