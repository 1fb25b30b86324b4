package com.example.jvmshop.catalog;

import java.util.LinkedHashMap;
import java.util.Map;

/** A product of the catalog; prices in cents. */
public final class Product {
    public final int id;
    public final String name;
    public final String category;
    public final long priceCents;
    private int stock;

    public Product(int id, String name, String category, long priceCents, int stock) {
        this.id = id;
        this.name = name;
        this.category = category;
        this.priceCents = priceCents;
        this.stock = stock;
    }

    public synchronized int stock() {
        return stock;
    }

    /** Takes n items from the stock; false when there are not enough. */
    public synchronized boolean take(int n) {
        if (n > stock) {
            return false;
        }
        stock -= n;
        return true;
    }

    public synchronized void restock(int n) {
        stock += n;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("name", name);
        m.put("category", category);
        m.put("price", priceCents / 100.0);
        m.put("stock", stock());
        return m;
    }
}
