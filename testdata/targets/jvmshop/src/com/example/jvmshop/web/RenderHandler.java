package com.example.jvmshop.web;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.example.jvmshop.catalog.Catalog;
import com.example.jvmshop.catalog.Product;
import com.example.jvmshop.http.Exchange;
import com.example.jvmshop.http.HttpError;
import com.example.jvmshop.render.Template;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/** GET /render/{template}: a template file of the template directory, read on every request. */
public final class RenderHandler implements HttpHandler {
    private final Catalog catalog;
    private final Path dir;

    public RenderHandler(Catalog catalog, Path dir) {
        this.catalog = catalog;
        this.dir = dir;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        Exchange.guard(ex, () -> {
            Exchange.requireMethod(ex, "GET");
            String name = ex.getRequestURI().getPath().substring("/render/".length());
            if (name.isEmpty() || name.contains("/") || name.startsWith(".")) {
                throw new HttpError(400, "invalid template name");
            }
            String source;
            try {
                source = Files.readString(dir.resolve(name + ".tmpl"), StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                throw new HttpError(404, "no template " + name);
            }
            Map<String, String> q = Exchange.query(ex);
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("customer", q.getOrDefault("customer", "guest"));
            List<Map<String, Object>> items = new ArrayList<>();
            long total = 0;
            for (Product p : catalog.list(q.get("category"), "price", 10)) {
                items.add(p.toMap());
                total += p.priceCents;
            }
            model.put("items", items);
            model.put("total", total / 100.0);
            try {
                Exchange.send(ex, 200, "text/plain; charset=utf-8", new Template(source).render(model));
            } catch (Template.TemplateError e) {
                throw new HttpError(500, "template " + name + ": " + e.getMessage());
            }
        });
    }
}
