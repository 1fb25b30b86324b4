package com.example.jvmshop.catalog;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The products, in memory. */
public final class Catalog {
    private final Map<Integer, Product> products = new ConcurrentHashMap<>();

    public static Catalog seeded() {
        Catalog c = new Catalog();
        c.add(new Product(1, "Espresso beans", "coffee", 1290, 40));
        c.add(new Product(2, "Filter beans", "coffee", 990, 25));
        c.add(new Product(3, "Green tea", "tea", 650, 60));
        c.add(new Product(4, "Earl Grey", "tea", 720, 0));
        c.add(new Product(5, "Grinder", "equipment", 4990, 5));
        c.add(new Product(6, "Kettle", "equipment", 3490, 8));
        c.add(new Product(7, "Mug", "accessories", 1200, 100));
        return c;
    }

    public void add(Product p) {
        products.put(p.id, p);
    }

    public Optional<Product> get(int id) {
        return Optional.ofNullable(products.get(id));
    }

    public int size() {
        return products.size();
    }

    /** Products of a category (any when null), sorted by the given key. */
    public List<Product> list(String category, String sort, int limit) {
        List<Product> out = new ArrayList<>();
        for (Product p : products.values()) {
            if (category == null || p.category.equalsIgnoreCase(category)) {
                out.add(p);
            }
        }
        out.sort(comparator(sort));
        return out.size() > limit ? out.subList(0, limit) : out;
    }

    private static Comparator<Product> comparator(String sort) {
        if (sort == null) {
            return Comparator.comparingInt(p -> p.id);
        }
        switch (sort.toLowerCase(Locale.ROOT)) {
            case "price": return Comparator.comparingLong(p -> p.priceCents);
            case "-price": return Comparator.comparingLong((Product p) -> p.priceCents).reversed();
            case "name": return Comparator.comparing(p -> p.name);
            case "stock": return Comparator.comparingInt(Product::stock);
            default: return Comparator.comparingInt(p -> p.id);
        }
    }

    public List<String> categories() {
        List<String> out = new ArrayList<>();
        for (Product p : products.values()) {
            if (!out.contains(p.category)) {
                out.add(p.category);
            }
        }
        out.sort(null);
        return out;
    }
}
