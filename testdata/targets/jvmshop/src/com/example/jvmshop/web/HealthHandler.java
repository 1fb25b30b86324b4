package com.example.jvmshop.web;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.example.jvmshop.catalog.Catalog;
import com.example.jvmshop.http.Exchange;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/** GET /health. */
public final class HealthHandler implements HttpHandler {
    private final Catalog catalog;

    public HealthHandler(Catalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "ok");
        m.put("products", catalog.size());
        Exchange.json(ex, 200, m);
    }
}
