package com.example.jvmshop.web;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.example.jvmshop.Codec;
import com.example.jvmshop.http.Exchange;
import com.example.jvmshop.http.HttpError;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/**
 * GET /convert?codec=NAME&text=...&direction=encode|decode: the codec is
 * the class NAME of package com.example.jvmshop.codec in the plugin
 * directory (an exploded class directory), loaded by name on first use.
 */
public final class ConvertHandler implements HttpHandler {
    private static final String PACKAGE = "com.example.jvmshop.codec.";
    private final ClassLoader plugins;

    public ConvertHandler(Path dir) throws MalformedURLException {
        this.plugins = new URLClassLoader(new URL[] {dir.toUri().toURL()}, ConvertHandler.class.getClassLoader());
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        Exchange.guard(ex, () -> {
            Exchange.requireMethod(ex, "GET");
            Map<String, String> q = Exchange.query(ex);
            String name = q.getOrDefault("codec", "");
            if (!name.matches("[A-Za-z][A-Za-z0-9]{0,39}")) {
                throw new HttpError(400, "invalid codec name");
            }
            Codec codec = load(name);
            String text = q.getOrDefault("text", "");
            String direction = q.getOrDefault("direction", "encode");
            String out;
            switch (direction) {
                case "encode": out = codec.encode(text); break;
                case "decode": out = codec.decode(text); break;
                default: throw new HttpError(400, "direction must be encode or decode");
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("codec", name);
            m.put("result", out);
            Exchange.json(ex, 200, m);
        });
    }

    private Codec load(String name) {
        try {
            Class<?> c = Class.forName(PACKAGE + name, true, plugins);
            if (!Codec.class.isAssignableFrom(c)) {
                throw new HttpError(404, "unknown codec " + name);
            }
            return (Codec) c.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | NoClassDefFoundError e) {
            throw new HttpError(404, "unknown codec " + name);
        }
    }
}
