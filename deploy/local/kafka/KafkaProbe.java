// Small Kafka client used by deploy/local/*.sh: readiness checks and smoke tests
// that speak the real Kafka protocol, without a Python venv or kafka-tools.
// Compiled once by `kafka.sh fetch` against the cached libs (kafka-clients).
//
//   ready        <bootstrap> <timeoutMs> [minBrokers] [requiredNodeId]
//   create-topic <bootstrap> <topic> <partitions> <replicationFactor> [minInsyncReplicas]
//   produce      <bootstrap> <topic> <count> [timeoutMs]     (acks=all, idempotent)
//   consume      <bootstrap> <topic> <count> [timeoutMs]     (from the beginning)
//   describe     <bootstrap> <topic>                         (leader/replicas/isr)
//
// Exit codes: 0 ok, 1 failed/not ready, 2 usage.
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class KafkaProbe {

    public static void main(String[] args) {
        if (args.length < 2) {
            usage();
        }
        try {
            switch (args[0]) {
                case "ready" -> ready(args);
                case "create-topic" -> createTopic(args);
                case "produce" -> produce(args);
                case "consume" -> consume(args);
                case "describe" -> describe(args);
                default -> usage();
            }
        } catch (Exception e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            System.err.println("kafka-probe " + args[0] + ": " + cause);
            System.exit(1);
        }
        System.exit(0);
    }

    private static void usage() {
        System.err.println("usage: KafkaProbe ready <bootstrap> <timeoutMs> [minBrokers] [requiredNodeId]\n"
                + "       KafkaProbe create-topic <bootstrap> <topic> <partitions> <rf> [minIsr]\n"
                + "       KafkaProbe produce <bootstrap> <topic> <count> [timeoutMs]\n"
                + "       KafkaProbe consume <bootstrap> <topic> <count> [timeoutMs]\n"
                + "       KafkaProbe describe <bootstrap> <topic>");
        System.exit(2);
    }

    private static Properties adminProps(String bootstrap, int timeoutMs) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, Integer.toString(Math.min(timeoutMs, 2000)));
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, Integer.toString(Math.min(timeoutMs, 2000)));
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "caseroute-probe");
        return p;
    }

    // A broker is ready when a DescribeCluster round trip succeeds and reports enough
    // live (registered, unfenced) brokers, optionally including one specific node id.
    private static void ready(String[] a) throws Exception {
        if (a.length < 3) usage();
        String bootstrap = a[1];
        int timeoutMs = Integer.parseInt(a[2]);
        int minBrokers = a.length > 3 ? Integer.parseInt(a[3]) : 1;
        int requiredNode = a.length > 4 ? Integer.parseInt(a[4]) : -1;
        try (Admin admin = Admin.create(adminProps(bootstrap, timeoutMs))) {
            var result = admin.describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs));
            List<Integer> ids = result.nodes().get(timeoutMs, TimeUnit.MILLISECONDS).stream()
                    .map(Node::id).sorted().collect(Collectors.toList());
            String clusterId = result.clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
            boolean ok = ids.size() >= minBrokers && (requiredNode < 0 || ids.contains(requiredNode));
            System.out.println("cluster " + clusterId + " brokers " + ids + (ok ? " ready" : " not ready"));
            admin.close(Duration.ofMillis(500));
            if (!ok) System.exit(1);
        }
    }

    private static void createTopic(String[] a) throws Exception {
        if (a.length < 5) usage();
        NewTopic topic = new NewTopic(a[2], Integer.parseInt(a[3]), Short.parseShort(a[4]));
        if (a.length > 5) topic.configs(Map.of("min.insync.replicas", a[5]));
        try (Admin admin = Admin.create(adminProps(a[1], 30000))) {
            try {
                admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
                System.out.println("created " + a[2]);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
                System.out.println("exists " + a[2]);
            }
        }
    }

    private static void produce(String[] a) throws Exception {
        if (a.length < 4) usage();
        String topic = a[2];
        int count = Integer.parseInt(a[3]);
        int timeoutMs = a.length > 4 ? Integer.parseInt(a[4]) : 30000;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a[1]);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(Math.min(timeoutMs, 10000)));
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Integer.toString(timeoutMs));
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        long t0 = System.nanoTime();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            List<Future<RecordMetadata>> futures = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                futures.add(producer.send(new ProducerRecord<>(topic, "k" + i, "probe-" + i)));
            }
            producer.flush();
            for (Future<RecordMetadata> f : futures) {
                f.get(timeoutMs, TimeUnit.MILLISECONDS);
            }
        }
        System.out.printf("produced %d to %s with acks=all in %d ms%n", count, topic,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private static void consume(String[] a) throws Exception {
        if (a.length < 4) usage();
        String topic = a[2];
        int count = Integer.parseInt(a[3]);
        int timeoutMs = a.length > 4 ? Integer.parseInt(a[4]) : 30000;
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a[1]);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "caseroute-probe-" + System.nanoTime());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        int seen = 0;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(Collections.singletonList(topic));
            while (seen < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    seen++;
                }
            }
        }
        System.out.printf("consumed %d of %d from %s%n", seen, count, topic);
        if (seen < count) System.exit(1);
    }

    private static void describe(String[] a) throws Exception {
        if (a.length < 3) usage();
        try (Admin admin = Admin.create(adminProps(a[1], 15000))) {
            Map<String, TopicDescription> d = admin.describeTopics(Set.of(a[2])).allTopicNames().get(15, TimeUnit.SECONDS);
            for (TopicPartitionInfo pi : d.get(a[2]).partitions()) {
                System.out.printf("%s-%d leader=%s replicas=%s isr=%s%n", a[2], pi.partition(),
                        pi.leader() == null ? "none" : Integer.toString(pi.leader().id()),
                        pi.replicas().stream().map(Node::id).collect(Collectors.toList()),
                        pi.isr().stream().map(Node::id).collect(Collectors.toList()));
            }
        }
    }
}
