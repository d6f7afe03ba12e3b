// Takes a principal's Read ACL on one topic away, or gives it back, on the
// test stack's broker: alerts_fire cuts one service off partner.events.
// (librdkafka's admin API could, but no Lindung tool should offer it.)
//   java -cp "$dist/lib/*" TopicReadAcl.java CLIENT_PROPERTIES remove|add PRINCIPAL TOPIC
import java.io.FileInputStream;
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

public class TopicReadAcl {
  public static void main(String[] args) throws Exception {
    Properties config = new Properties();
    try (FileInputStream in = new FileInputStream(args[0])) {
      config.load(in);
    }
    AclBinding read = new AclBinding(new ResourcePattern(ResourceType.TOPIC, args[3], PatternType.LITERAL),
        new AccessControlEntry("User:" + args[2], "*", AclOperation.READ, AclPermissionType.ALLOW));
    try (Admin admin = Admin.create(config)) {
      if (args[1].equals("remove")) {
        admin.deleteAcls(List.of(read.toFilter())).all().get();
      } else {
        admin.createAcls(List.of(read)).all().get();
      }
    }
  }
}
