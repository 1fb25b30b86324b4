package com.example.jvmshop.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import com.sun.net.httpserver.HttpExchange;

/** Request helpers shared by the handlers. */
public final class Exchange {
    private static final int MAX_BODY = 64 * 1024;

    private Exchange() {}

    public static Map<String, String> query(HttpExchange ex) {
        Map<String, String> out = new LinkedHashMap<>();
        String raw = ex.getRequestURI().getRawQuery();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            try {
                out.putIfAbsent(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                out.putIfAbsent(k, v);
            }
        }
        return out;
    }

    public static String body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] data = in.readNBytes(MAX_BODY + 1);
            if (data.length > MAX_BODY) {
                throw new HttpError(413, "body too large");
            }
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    public static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] data = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, data.length == 0 ? -1 : data.length);
        if (data.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(data);
            }
        }
        ex.close();
    }

    public static void json(HttpExchange ex, int status, Object value) throws IOException {
        send(ex, status, "application/json", Json.write(value));
    }

    public static void error(HttpExchange ex, int status, String detail) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("detail", detail);
        json(ex, status, m);
    }

    /** Runs a handler body, turning HttpErrors and bad input into answers. */
    public static void guard(HttpExchange ex, Body body) throws IOException {
        try {
            body.run();
        } catch (HttpError e) {
            error(ex, e.status, e.getMessage());
        } catch (Json.ParseError e) {
            error(ex, 400, "invalid JSON: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            error(ex, 400, "invalid input: " + e.getMessage());
        }
    }

    /** A handler body. */
    public interface Body {
        void run() throws IOException;
    }

    public static int intParam(Map<String, String> q, String name, int def, int min, int max) {
        String v = q.get(name);
        if (v == null || v.isEmpty()) {
            return def;
        }
        int n = Integer.parseInt(v.trim());
        if (n < min || n > max) {
            throw new HttpError(400, name + " must be between " + min + " and " + max);
        }
        return n;
    }

    public static void requireMethod(HttpExchange ex, String... allowed) {
        for (String m : allowed) {
            if (m.equals(ex.getRequestMethod())) {
                return;
            }
        }
        throw new HttpError(405, "method " + ex.getRequestMethod() + " not allowed");
    }
}
