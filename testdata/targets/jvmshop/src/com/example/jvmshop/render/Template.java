package com.example.jvmshop.render;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A tiny template language: {{key}}, {{upper key}}, {{money key}} and
 * {{#each key}}...{{/each}} over a list of maps.
 */
public final class Template {
    private final String source;

    public Template(String source) {
        this.source = source;
    }

    public String render(Map<String, Object> model) {
        StringBuilder out = new StringBuilder();
        render(source, model, out, 0);
        return out.toString();
    }

    private static void render(String src, Map<String, Object> model, StringBuilder out, int depth) {
        int pos = 0;
        while (pos < src.length()) {
            int open = src.indexOf("{{", pos);
            if (open < 0) {
                out.append(src, pos, src.length());
                return;
            }
            out.append(src, pos, open);
            int close = src.indexOf("}}", open);
            if (close < 0) {
                throw new TemplateError("unclosed tag at " + open);
            }
            String tag = src.substring(open + 2, close).trim();
            pos = close + 2;
            if (tag.startsWith("#each ")) {
                int end = src.indexOf("{{/each}}", pos);
                if (end < 0) {
                    throw new TemplateError("#each without /each");
                }
                each(src.substring(pos, end), model.get(tag.substring(6).trim()), out, depth);
                pos = end + "{{/each}}".length();
            } else {
                out.append(value(tag, model));
            }
        }
    }

    private static void each(String body, Object items, StringBuilder out, int depth) {
        if (depth > 4) {
            throw new TemplateError("nested too deeply");
        }
        if (!(items instanceof List)) {
            return;
        }
        for (Object item : (List<?>) items) {
            if (item instanceof Map) {
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) item;
                render(body, m, out, depth + 1);
            }
        }
    }

    private static String value(String tag, Map<String, Object> model) {
        String[] parts = tag.split("\\s+", 2);
        if (parts.length == 2) {
            return filter(parts[0], String.valueOf(model.getOrDefault(parts[1], "")));
        }
        return String.valueOf(model.getOrDefault(tag, ""));
    }

    private static String filter(String name, String v) {
        switch (name) {
            case "upper": return v.toUpperCase(Locale.ROOT);
            case "lower": return v.toLowerCase(Locale.ROOT);
            case "money": return money(v);
            default: throw new TemplateError("unknown filter " + name);
        }
    }

    private static String money(String v) {
        try {
            return String.format(Locale.ROOT, "%.2f EUR", Double.parseDouble(v));
        } catch (NumberFormatException e) {
            return v;
        }
    }

    /** A template that cannot be rendered. */
    public static final class TemplateError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateError(String message) {
            super(message);
        }
    }
}
