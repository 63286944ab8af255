package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

import io.dstack.vpn.testing.Anvil;

/**
 * A real workload across the mesh: PostgreSQL streaming replication (Debian's server, {@code hack/install-postgres.sh})
 * between two simulated nodes, the primary and the replica talking only over their overlay addresses, the primary's
 * {@code pg_hba.conf} admitting the replication role only from the network's CIDR. On the real API server, anvil
 * with our contract, the packaged operator, wireguard-go and the agents ({@link MeshFixture}).
 *
 * <p>Revoking the replica's token must end the primary's walsender within seconds ({@code wal_sender_timeout} 3 s
 * after the cut) while the primary keeps taking writes; minting a new token for the same key must let the replica
 * catch up with nothing lost (its replication slot kept the WAL). The times are printed, and recorded in
 * docs/benchmarks.md.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresReplicationIT {
    static final String PRIMARY = "pg-primary";
    static final String REPLICA = "pg-replica";
    static final String CIDR = "10.69.0.0/24";
    static final String SLOT = "replica_slot";
    static final Duration WAIT = Duration.ofSeconds(60);
    /** The walsender must be gone this soon after the revoke: the cut (~a block) + wal_sender_timeout (3 s) + slack. */
    static final Duration WALSENDER_GONE_WITHIN = Duration.ofSeconds(10);
    /** Rows a checksum covers: count and an md5 over every row in id order. */
    static final String CHECKSUM = "select count(*) || ' ' || coalesce(md5(string_agg(id || ':' || payload, ',' order by id)), '-') from t";

    static PostgresBinaries pg;
    static MeshFixture mesh;
    static PostgresServer primary;
    static PostgresServer replica;
    static String replicaAddress;

    /** On a failure, the end of both servers' logs (replication commands, walsender and walreceiver ends, errors). */
    @RegisterExtension
    static final TestWatcher SERVER_LOGS = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            for (PostgresServer s : new PostgresServer[] {primary, replica}) {
                if (s != null) {
                    List<String> lines = s.log().lines().toList();
                    System.out.println("---- " + s.dir() + "/server.log, last lines ----\n"
                            + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size())));
                }
            }
        }
    };

    @BeforeAll
    static void start() throws Exception {
        pg = PostgresBinaries.require(); // before the mesh: a missing server fails at once, with how to install it
        mesh = MeshFixture.start(new MeshFixture.Options("pg-replication", "pg", CIDR, List.of(PRIMARY, REPLICA), null, null,
                Set.of(), false));
        mesh.admitAll();
        mesh.awaitIn(PRIMARY);
        mesh.awaitIn(REPLICA);
    }

    @AfterAll
    static void stop() {
        // The servers first, while their directories and namespaces still exist; each step even if one failed.
        try {
            if (replica != null) {
                replica.close();
            }
        } finally {
            try {
                if (primary != null) {
                    primary.close();
                }
            } finally {
                if (mesh != null) {
                    mesh.close();
                }
            }
        }
    }

    static long rows(PostgresServer server) {
        return Long.parseLong(server.sql("select count(*) from t"));
    }

    static void insert(int count, String tag) {
        primary.sql("insert into t(payload) select '" + tag + "-' || g || '-' || md5(g::text) from generate_series(1, " + count + ") g");
    }

    /** The primary's walsenders, as {@code application_name|client_addr|state} lines. */
    static String walsenders() {
        return primary.sql("select application_name || '|' || host(client_addr) || '|' || state from pg_stat_replication");
    }

    static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    @Test
    @Order(1)
    void theReplicaStreamsFromThePrimaryOverTheOverlayOnly() throws Exception {
        String primaryAddress = mesh.address(PRIMARY);
        replicaAddress = mesh.address(REPLICA);
        primary = PostgresServer.in(pg, mesh.nodes.get(PRIMARY), primaryAddress);
        primary.initPrimary(CIDR);
        primary.start();
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        String password = HexFormat.of().formatHex(secret);
        primary.sql("create role " + PostgresServer.REPLICATION_ROLE + " with replication login password '" + password + "'");
        primary.sql("create table t(id bigserial primary key, payload text not null)");
        insert(1000, "before");

        // Listening only on the overlay address, and the only TCP rule admits replication from the overlay range.
        String listening = mesh.nodes.get(PRIMARY).exec("ss", "-Hltn", "sport", "=", ":" + PostgresServer.PORT).output();
        assertThat(listening.lines().map(l -> l.trim().split("\\s+")[3]).toList()).containsExactly(primaryAddress + ":" + PostgresServer.PORT);
        assertThat(primary.sql("select type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') || ' '"
                + " || coalesce(address || '/' || netmask, '-') from pg_hba_file_rules where type <> 'local'"))
                .isEqualTo("host replication " + PostgresServer.REPLICATION_ROLE + " 10.69.0.0/255.255.255.0");

        replica = PostgresServer.in(pg, mesh.nodes.get(REPLICA), replicaAddress);
        // The primary's underlay address has no PostgreSQL port: the overlay is the only way in.
        PostgresServer.Result underlay = replica.tryConnect("host=" + mesh.nodes.get(PRIMARY).underlayAddress() + " port="
                + PostgresServer.PORT + " user=postgres connect_timeout=3");
        assertThat(underlay.exitCode()).as("psql to the primary's underlay address").isNotZero();
        assertThat(underlay.output()).contains("Connection refused");

        long t0 = System.nanoTime();
        replica.initReplicaOf(primaryAddress, password, SLOT);
        replica.start();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThat(walsenders()).isEqualTo(REPLICA + "|" + replicaAddress + "|streaming"));
        assertThat(replica.sql("select pg_is_in_recovery()")).isEqualTo("t");
        assertThat(replica.sql("select status || ' ' || sender_host from pg_stat_wal_receiver")).isEqualTo("streaming " + primaryAddress);
        assertThat(replica.log()).doesNotContain(password);
        assertThat(primary.log()).doesNotContain(password);

        insert(1000, "streamed");
        String expected = primary.sql(CHECKSUM);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> assertThat(replica.sql(CHECKSUM)).isEqualTo(expected));
        System.out.printf("[postgres] base backup + replica start + 1000 rows streamed in %d ms; primary %s, replica %s, 2000 rows%n",
                millisSince(t0), primaryAddress, replicaAddress);
    }

    @Test
    @Order(2)
    void revokingTheReplicaEndsTheWalsenderWithinSecondsWhileThePrimaryKeepsWriting() throws Exception {
        String replicaKey = mesh.key(REPLICA);
        long before = rows(replica);
        long t0 = System.nanoTime();
        mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get(REPLICA));
        long mined = millisSince(t0);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> !mesh.hasPeer(PRIMARY, replicaKey));
        long cut = millisSince(t0);
        // Writes go on meanwhile: the primary never waits for its standby (asynchronous replication).
        insert(500, "while-revoking");
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> walsenders().isEmpty());
        long gone = millisSince(t0);
        System.out.printf("[postgres] revoke: tx mined +%d ms, replica's key off the primary's WireGuard +%d ms, walsender gone"
                + " (pg_stat_replication empty) +%d ms, i.e. %d ms after the cut (wal_sender_timeout 3 s)%n", mined, cut, gone, gone - cut);
        // Which of the two ends it came first: wal_sender_timeout ("replication timeout") or the TCP user timeout.
        System.out.printf("[postgres] primary's log: %s%n", primary.log().lines()
                .filter(l -> l.contains("replication timeout") || l.contains("could not send") || l.contains("could not receive"))
                .reduce((a, b) -> b).orElse("(no walsender error logged)"));
        assertThat(Duration.ofMillis(gone)).as("revoke -> walsender gone").isLessThan(WALSENDER_GONE_WITHIN);
        assertThat(primary.sql("select active from pg_replication_slots where slot_name = '" + SLOT + "'"))
                .as("the slot waits for the replica, keeping its WAL").isEqualTo("f");

        insert(4500, "revoked");
        Thread.sleep(2000);
        assertThat(rows(replica)).as("nothing reaches the revoked replica").isEqualTo(before);
        assertThat(rows(primary)).isEqualTo(before + 5000);
    }

    @Test
    @Order(3)
    void grantingAgainCatchesTheReplicaUpWithNothingLost() throws Exception {
        String expected = primary.sql(CHECKSUM);
        long primaryRows = rows(primary);
        long t0 = System.nanoTime();
        mesh.grant(REPLICA); // a new token for the same node id and key
        mesh.anvil.rpc("anvil_mine", "[\"0x1\"]"); // the confirmation the network asks for
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).ignoreExceptions().until(() -> mesh.hasPeer(PRIMARY, mesh.key(REPLICA)));
        long back = millisSince(t0);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> assertThat(replica.sql(CHECKSUM)).isEqualTo(expected));
        long caughtUp = millisSince(t0);
        // The same overlay address as before the revoke (ADR 0003), so the replica's listen_addresses still holds.
        assertThat(mesh.address(REPLICA)).isEqualTo(replicaAddress);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                assertThat(walsenders()).isEqualTo(REPLICA + "|" + replicaAddress + "|streaming"));
        long replicaRows = rows(replica);
        System.out.printf("[postgres] grant: replica's key back on the primary +%d ms, replica caught up (checksum of %d rows equal)"
                + " +%d ms, rows lost %d%n", back, replicaRows, caughtUp, primaryRows - replicaRows);
        assertThat(replicaRows).isEqualTo(primaryRows);

        // What the replica saw: its walreceiver ending, the retries while cut off, streaming again.
        replica.log().lines().filter(l -> l.contains("walreceiver") || l.contains("streaming WAL") || l.contains("could not connect"))
                .map(l -> l.replaceFirst("^\\S+ \\S+ \\S+ \\[\\d+\\] ", "")) // without log_line_prefix '%m [%p] '
                .collect(Collectors.groupingBy(l -> l, LinkedHashMap::new, Collectors.counting()))
                .forEach((l, n) -> System.out.printf("[postgres] replica's log (%dx): %s%n", n, l));

        // And it streams on: a write after the catch-up arrives too.
        insert(1, "after");
        String after = primary.sql(CHECKSUM);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> assertThat(replica.sql(CHECKSUM)).isEqualTo(after));
    }
}
