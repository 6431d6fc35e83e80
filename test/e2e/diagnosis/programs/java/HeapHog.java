// A com.sun.net.httpserver service on 127.0.0.1:$PORT that, on /break, caches every report it builds
// and never evicts one. Run with -Xmx32m -XX:+ExitOnOutOfMemoryError: the JVM prints
// "Terminating due to java.lang.OutOfMemoryError: Java heap space" and exits (status 3), as services
// are told to run so that a half-dead JVM does not linger. Started as `java HeapHog.java`.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

public class HeapHog {
    static final List<long[]> cache = new ArrayList<>();

    static void answer(HttpExchange ex, int status, String body) throws IOException {
        byte[] data = (body + "\n").getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, data.length);
        ex.getResponseBody().write(data);
        ex.close();
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv("PORT"));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.createContext("/health", ex -> answer(ex, 200, "ok"));
        server.createContext("/break", ex -> {
            answer(ex, 200, "caching");
            System.out.println("caching every report from now on");
            new Thread(() -> {
                for (;;) cache.add(new long[128 * 1024]);
            }, "report-cache").start();
        });
        server.start();
        System.out.println("listening on 127.0.0.1:" + port + " pid=" + ProcessHandle.current().pid());
    }
}
