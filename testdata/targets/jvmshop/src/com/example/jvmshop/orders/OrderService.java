package com.example.jvmshop.orders;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import com.example.jvmshop.catalog.Catalog;
import com.example.jvmshop.catalog.Product;

/** Places and cancels orders against the catalog's stock. */
public final class OrderService {
    private static final int MAX_ORDERS = 1000;
    private final Catalog catalog;
    private final Map<Long, Order> orders = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    public OrderService(Catalog catalog) {
        this.catalog = catalog;
    }

    public Order place(Map<?, ?> body) {
        int productId = intField(body, "productId", true);
        int quantity = intField(body, "quantity", false);
        if (quantity == 0) {
            quantity = 1;
        }
        if (quantity < 0 || quantity > 100) {
            throw new InvalidOrder("quantity must be between 1 and 100");
        }
        Object code = body.get("coupon");
        Coupon coupon = Coupon.parse(code instanceof String ? (String) code : null);
        Product p = catalog.get(productId).orElseThrow(() -> new InvalidOrder("no product " + productId));
        if (!p.take(quantity)) {
            throw new OutOfStock(p.name, p.stock());
        }
        long total = p.priceCents * quantity;
        if (coupon != null) {
            total = coupon.apply(total, quantity);
        }
        if (orders.size() >= MAX_ORDERS) {
            evictOldest();
        }
        Order o = new Order(ids.incrementAndGet(), productId, quantity, total, coupon == null ? null : coupon.name());
        orders.put(o.id, o);
        return o;
    }

    public Optional<Order> get(long id) {
        return Optional.ofNullable(orders.get(id));
    }

    /** Cancels an order and puts its items back. */
    public boolean cancel(long id) {
        Order o = orders.remove(id);
        if (o == null) {
            return false;
        }
        catalog.get(o.productId).ifPresent(p -> p.restock(o.quantity));
        return true;
    }

    private void evictOldest() {
        long oldest = Long.MAX_VALUE;
        for (Long id : orders.keySet()) {
            oldest = Math.min(oldest, id);
        }
        orders.remove(oldest);
    }

    /**
     * Drops cancelled-and-forgotten orders below an id. Planted: no handler
     * calls it, so coverage exports must show it as never run.
     */
    public int purgeAbandoned(long belowId) {
        int purged = 0;
        for (Long id : orders.keySet()) {
            if (id < belowId && orders.remove(id) != null) {
                purged++;
            }
        }
        return purged;
    }

    private static int intField(Map<?, ?> body, String name, boolean required) {
        Object v = body.get(name);
        if (v == null) {
            if (required) {
                throw new InvalidOrder(name + " is required");
            }
            return 0;
        }
        if (!(v instanceof Long)) {
            throw new InvalidOrder(name + " must be an integer");
        }
        long n = (Long) v;
        if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
            throw new InvalidOrder(name + " is out of range");
        }
        return (int) n;
    }

    /** Not enough items in stock. */
    public static final class OutOfStock extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OutOfStock(String product, int left) {
            super(product + ": only " + left + " left");
        }
    }
}
