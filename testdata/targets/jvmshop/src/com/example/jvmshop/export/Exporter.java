package com.example.jvmshop.export;

import java.util.List;

import com.example.jvmshop.catalog.Product;

/**
 * Writes products in one format. Implementations are found by name:
 * format "csv" is the class CsvExporter of this package, loaded on first use.
 */
public interface Exporter {
    String contentType();

    String export(List<Product> products);

    static Exporter forFormat(String format) throws ReflectiveOperationException {
        if (format.isEmpty() || !format.chars().allMatch(Character::isLetter)) {
            throw new ClassNotFoundException(format);
        }
        String name = Exporter.class.getPackageName() + "." + Character.toUpperCase(format.charAt(0))
                + format.substring(1).toLowerCase(java.util.Locale.ROOT) + "Exporter";
        Class<?> c = Class.forName(name);
        if (!Exporter.class.isAssignableFrom(c)) {
            throw new ClassNotFoundException(name);
        }
        return (Exporter) c.getDeclaredConstructor().newInstance();
    }
}
