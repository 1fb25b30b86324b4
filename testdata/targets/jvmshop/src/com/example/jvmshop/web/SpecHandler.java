package com.example.jvmshop.web;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import com.example.jvmshop.http.Exchange;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/** GET /openapi.json: the spec, a resource of the jar. */
public final class SpecHandler implements HttpHandler {
    @Override
    public void handle(HttpExchange ex) throws IOException {
        try (InputStream in = SpecHandler.class.getResourceAsStream("/openapi.json")) {
            if (in == null) {
                Exchange.error(ex, 404, "no spec");
                return;
            }
            Exchange.send(ex, 200, "application/json", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
