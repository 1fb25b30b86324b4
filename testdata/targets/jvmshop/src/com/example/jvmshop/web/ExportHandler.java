package com.example.jvmshop.web;

import java.io.IOException;
import java.util.Map;

import com.example.jvmshop.catalog.Catalog;
import com.example.jvmshop.export.Exporter;
import com.example.jvmshop.http.Exchange;
import com.example.jvmshop.http.HttpError;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/** GET /export?format=NAME: the exporter class named by the format. */
public final class ExportHandler implements HttpHandler {
    private final Catalog catalog;

    public ExportHandler(Catalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        Exchange.guard(ex, () -> {
            Exchange.requireMethod(ex, "GET");
            Map<String, String> q = Exchange.query(ex);
            String format = q.getOrDefault("format", "csv");
            Exporter exporter;
            try {
                exporter = Exporter.forFormat(format);
            } catch (ReflectiveOperationException e) {
                throw new HttpError(404, "unknown format " + format);
            }
            Exchange.send(ex, 200, exporter.contentType(), exporter.export(catalog.list(q.get("category"), q.get("sort"), 100)));
        });
    }
}
