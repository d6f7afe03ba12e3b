// BrokerRequests PID: prints, as one JSON object, how many requests of each
// type the Kafka broker running as PID has handled since it started, and
// how many records were appended to its logs (markers and internal topics
// included). scripts/bench reads it before and after a phase: requests per
// scan is what the broker's CPU follows (docs/performance.md).
//
// It attaches through the JVM's attach mechanism (same user only) and the
// local management agent, which listens on loopback alone; the broker is
// given no JMX port and no other setting for it.
import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public final class BrokerRequests {
  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: BrokerRequests PID");
      System.exit(2);
    }
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    String address;
    try {
      address = vm.startLocalManagementAgent();
    } finally {
      vm.detach();
    }
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      Map<String, Long> requests = new TreeMap<>();
      // One meter per request type (Fetch also per FetchConsumer/FetchFollower:
      // the plain name is the total).
      for (ObjectName name : server.queryNames(
               new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*"), null)) {
        requests.merge(name.getKeyProperty("request"), (Long) server.getAttribute(name, "Count"), Long::sum);
      }
      // Error answers by request type and code (NONE left out): a
      // CONCURRENT_TRANSACTIONS answer costs librdkafka a 20 ms back-off.
      Map<String, Long> errors = new TreeMap<>();
      for (ObjectName name : server.queryNames(
               new ObjectName("kafka.network:type=RequestMetrics,name=ErrorsPerSec,*"), null)) {
        String error = name.getKeyProperty("error");
        if (error == null || error.equals("NONE")) continue;
        errors.merge(name.getKeyProperty("request") + "/" + error,
                     (Long) server.getAttribute(name, "Count"), Long::sum);
      }
      long records = (Long) server.getAttribute(
          new ObjectName("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec"), "Count");
      StringBuilder out = new StringBuilder("{\"records_in\": ").append(records);
      appendCounts(out.append(", \"requests\": "), requests);
      appendCounts(out.append(", \"errors\": "), errors);
      System.out.println(out.append("}"));
    }
  }

  /** A JSON object of the non-zero counts (the names are Kafka's own, no quoting needed). */
  private static void appendCounts(StringBuilder out, Map<String, Long> counts) {
    out.append('{');
    String sep = "";
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      if (e.getValue() == 0) continue;
      out.append(sep).append('"').append(e.getKey()).append("\": ").append(e.getValue());
      sep = ", ";
    }
    out.append('}');
  }
}
