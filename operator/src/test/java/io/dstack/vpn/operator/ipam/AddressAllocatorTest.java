package io.dstack.vpn.operator.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class AddressAllocatorTest {
    private final AddressAllocator allocator = new AddressAllocator(Ipv4Cidr.parse("10.100.0.0/24"));

    private static AddressAllocator.Request dyn(String key) {
        return new AddressAllocator.Request(key, null);
    }

    @Test
    void assignsLowestFreeAddressesInRequestOrder() {
        var r = allocator.allocate(Map.of(), List.of(dyn("a"), dyn("b"), dyn("c")));
        assertThat(r.assigned()).containsEntry("a", "10.100.0.1").containsEntry("b", "10.100.0.2").containsEntry("c", "10.100.0.3");
        assertThat(r.capacity()).isEqualTo(254);
    }

    @Test
    void keepsPreviousAddressesAndFillsHoles() {
        var r = allocator.allocate(Map.of("b", "10.100.0.2", "gone", "10.100.0.1"), List.of(dyn("a"), dyn("b")));
        assertThat(r.assigned()).containsEntry("b", "10.100.0.2").containsEntry("a", "10.100.0.1").hasSize(2);
    }

    @Test
    void neverAssignsOneAddressTwice() {
        // A corrupted record claims one address for two peers: the first keeps it, the second moves.
        var r = allocator.allocate(Map.of("a", "10.100.0.5", "b", "10.100.0.5"), List.of(dyn("a"), dyn("b")));
        assertThat(r.assigned().get("a")).isEqualTo("10.100.0.5");
        assertThat(r.assigned().get("b")).isNotEqualTo("10.100.0.5");
        assertThat(new HashSet<>(r.assigned().values())).hasSize(2);
    }

    @Test
    void reportsExhaustionForNewcomersNotIncumbents() {
        var small = new AddressAllocator(Ipv4Cidr.parse("10.0.0.0/30"));
        var r = small.allocate(Map.of("old", "10.0.0.2"), List.of(dyn("old"), dyn("x"), dyn("y")));
        assertThat(r.capacity()).isEqualTo(2);
        assertThat(r.assigned()).containsEntry("old", "10.0.0.2").containsEntry("x", "10.0.0.1");
        assertThat(r.exhausted()).containsExactly("y");
    }

    @Test
    void honoursStaticRequestsAndRejectsConflicts() {
        var r = allocator.allocate(Map.of("a", "10.100.0.1"), List.of(
                dyn("a"),
                new AddressAllocator.Request("s", "10.100.0.1"),
                new AddressAllocator.Request("t", "10.100.0.9"),
                new AddressAllocator.Request("u", "10.200.0.1")));
        assertThat(r.assigned()).containsEntry("a", "10.100.0.1").containsEntry("t", "10.100.0.9");
        assertThat(r.rejected()).containsKeys("s", "u");
        assertThat(r.rejected().get("s")).contains("already assigned to a");
        assertThat(r.rejected().get("u")).contains("outside");
    }

    @Test
    void unmetStaticRequestKeepsThePreviousAddress() {
        var r = allocator.allocate(Map.of("a", "10.100.0.1", "b", "10.100.0.2"), List.of(
                dyn("a"), new AddressAllocator.Request("b", "10.100.0.1")));
        assertThat(r.assigned()).containsEntry("a", "10.100.0.1").containsEntry("b", "10.100.0.2");
        assertThat(r.rejected()).containsKey("b");
    }

    @Test
    void dropsPreviousAddressOutsideTheRange() {
        var r = allocator.allocate(Map.of("a", "10.100.0.255"), List.of(dyn("a")));
        assertThat(r.assigned()).containsEntry("a", "10.100.0.1");
    }

    @Test
    void cidrArithmetic() {
        var c = Ipv4Cidr.parse("10.100.0.0/16");
        assertThat(c.usableCount()).isEqualTo(65534);
        assertThat(Ipv4Cidr.format(c.lastUsable())).isEqualTo("10.100.255.254");
        assertThatThrownBy(() -> Ipv4Cidr.parse("10.100.0.1/24")).hasMessageContaining("host bits");
        assertThatThrownBy(() -> Ipv4Cidr.parse("10.100.0.0")).hasMessageContaining("not a CIDR");
        assertThatThrownBy(() -> Ipv4Cidr.parseAddress("10.300.0.1")).hasMessageContaining("not an IPv4");
    }
}
