package com.example.jvmshop.web;

import java.io.IOException;
import java.util.Map;

import com.example.jvmshop.http.Exchange;
import com.example.jvmshop.http.HttpError;
import com.example.jvmshop.http.Json;
import com.example.jvmshop.orders.InvalidOrder;
import com.example.jvmshop.orders.Order;
import com.example.jvmshop.orders.OrderService;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

/** POST /orders, GET and DELETE /orders/{id}. */
public final class OrdersHandler implements HttpHandler {
    private final OrderService orders;

    public OrdersHandler(OrderService orders) {
        this.orders = orders;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        Exchange.guard(ex, () -> {
            String path = ex.getRequestURI().getPath();
            if (path.equals("/orders") || path.equals("/orders/")) {
                Exchange.requireMethod(ex, "POST");
                place(ex);
                return;
            }
            long id = parseId(path.substring("/orders/".length()));
            if ("DELETE".equals(ex.getRequestMethod())) {
                if (!orders.cancel(id)) {
                    throw new HttpError(404, "no order " + id);
                }
                Exchange.send(ex, 204, "application/json", "");
                return;
            }
            Exchange.requireMethod(ex, "GET");
            Order o = orders.get(id).orElseThrow(() -> new HttpError(404, "no order " + id));
            Exchange.json(ex, 200, o.toMap());
        });
    }

    private void place(HttpExchange ex) throws IOException {
        Object body = Json.parse(Exchange.body(ex));
        if (!(body instanceof Map)) {
            throw new HttpError(400, "the body must be a JSON object");
        }
        try {
            Order o = orders.place((Map<?, ?>) body);
            Exchange.json(ex, 201, o.toMap());
        } catch (InvalidOrder e) {
            throw new HttpError(422, e.getMessage());
        } catch (OrderService.OutOfStock e) {
            throw new HttpError(409, e.getMessage());
        }
    }

    private static long parseId(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new HttpError(400, "order id must be an integer");
        }
    }
}
