package com.example.jvmshop.orders;

import java.util.LinkedHashMap;
import java.util.Map;

/** A placed order. */
public final class Order {
    final long id;
    final int productId;
    final int quantity;
    final long totalCents;
    final String coupon;
    String status = "placed";

    Order(long id, int productId, int quantity, long totalCents, String coupon) {
        this.id = id;
        this.productId = productId;
        this.quantity = quantity;
        this.totalCents = totalCents;
        this.coupon = coupon;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("productId", productId);
        m.put("quantity", quantity);
        m.put("total", totalCents / 100.0);
        if (coupon != null) {
            m.put("coupon", coupon);
        }
        m.put("status", status);
        return m;
    }
}
