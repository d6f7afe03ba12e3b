// Creates the access table's transactional-id rows (deploy/kafka/access) on
// the embedded broker. librdkafka 2.0.2's admin API knows no
// TransactionalId resource, so `lindungctl kafka apply` cannot; Kafka's own
// Admin client can. Compiled once by `deploy/kafka/dist classes`, run by
// scripts/stack with the broker's jars:
//   java -cp "$dist/lib/*:$classes" TransactionalAcls CLIENT_PROPERTIES ACCESS_TABLE
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class TransactionalAcls {
  public static void main(String[] args) throws Exception {
    Properties config = new Properties();
    try (FileInputStream in = new FileInputStream(args[0])) {
      config.load(in);
    }
    List<AclBinding> acls = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[1]))) {
      String[] f = line.replaceAll("#.*", "").trim().split("\\s+");
      if (f.length != 6 || !f[0].equals("allow") || !f[2].equals("transactional-id")) continue;
      PatternType pattern = f[3].equals("prefixed") ? PatternType.PREFIXED : PatternType.LITERAL;
      for (String op : f[5].split(",")) {
        AclOperation operation = AclOperation.fromString(op);
        if (operation == AclOperation.UNKNOWN) throw new IllegalArgumentException("operation " + op);
        acls.add(new AclBinding(new ResourcePattern(ResourceType.TRANSACTIONAL_ID, f[4], pattern),
            new AccessControlEntry("User:" + f[1], "*", operation, AclPermissionType.ALLOW)));
      }
    }
    if (acls.isEmpty()) return;
    try (Admin admin = Admin.create(config)) {
      admin.createAcls(acls).all().get();
    }
    System.out.println("transactional-id ACLs: " + acls.size());
  }
}
