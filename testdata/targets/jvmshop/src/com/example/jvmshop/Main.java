package com.example.jvmshop;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Executors;

import com.example.jvmshop.catalog.Catalog;
import com.example.jvmshop.orders.OrderService;
import com.example.jvmshop.web.ConvertHandler;
import com.example.jvmshop.web.ExportHandler;
import com.example.jvmshop.web.HealthHandler;
import com.example.jvmshop.web.OrdersHandler;
import com.example.jvmshop.web.ProductsHandler;
import com.example.jvmshop.web.RenderHandler;
import com.example.jvmshop.web.SpecHandler;
import com.sun.net.httpserver.HttpServer;

/** jvmshop: a small shop on the JDK's own HTTP server. */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        Path templates = Path.of(System.getenv().getOrDefault("JVMSHOP_TEMPLATES", "/usr/share/jvmshop/templates"));
        Path plugins = Path.of(System.getenv().getOrDefault("JVMSHOP_PLUGINS", "/app/plugins"));

        Catalog catalog = Catalog.seeded();
        OrderService orders = new OrderService(catalog);

        HttpServer server = HttpServer.create(new InetSocketAddress(port), 64);
        server.createContext("/health", new HealthHandler(catalog));
        server.createContext("/openapi.json", new SpecHandler());
        server.createContext("/products", new ProductsHandler(catalog));
        server.createContext("/orders", new OrdersHandler(orders));
        server.createContext("/render/", new RenderHandler(catalog, templates));
        server.createContext("/export", new ExportHandler(catalog));
        server.createContext("/convert", new ConvertHandler(plugins));
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        System.out.println("jvmshop listening on :" + port);
    }
}
