package io.dstack.vpn.operator.ipam;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Decides every peer's overlay address from the previous allocation record and the peers that exist now.
 * Pure: the caller persists the result (next to the rendered peer set) so it survives restarts.
 *
 * <p>Rules, in order: a peer keeps the address it had; a peer that asks for a static address gets it if it
 * is inside the range and free (if not, it keeps what it had); everyone else gets the lowest free address, in the order given (callers
 * pass the oldest peers first, so a full pool turns away newcomers, never incumbents). Peers that no longer
 * exist release their addresses. No address is ever given to two peers.
 */
public final class AddressAllocator {

    /** A peer that needs an address: its stable key (the VpnPeer name) and an optional requested address. */
    public record Request(String key, String requestedAddress) {
    }

    /**
     * @param assigned  key to address for every peer that has one
     * @param exhausted peers that got none because the range is full
     * @param rejected  peers whose requested address is unusable, with the reason
     */
    public record Result(Map<String, String> assigned, List<String> exhausted, Map<String, String> rejected,
            long capacity) {
    }

    private final Ipv4Cidr cidr;

    public AddressAllocator(Ipv4Cidr cidr) {
        this.cidr = cidr;
    }

    public Result allocate(Map<String, String> previous, Collection<Request> requests) {
        Map<String, Long> taken = new HashMap<>();        // key -> address
        Map<Long, String> owners = new HashMap<>();       // address -> key
        Map<String, String> rejected = new LinkedHashMap<>();
        List<Request> needNew = new ArrayList<>();

        for (Request r : requests) {
            Long kept = parseInRange(previous.get(r.key()));
            boolean keptMatchesRequest = r.requestedAddress() == null
                    || (kept != null && Ipv4Cidr.format(kept).equals(r.requestedAddress()));
            if (kept != null && keptMatchesRequest && !owners.containsKey(kept)) {
                taken.put(r.key(), kept);
                owners.put(kept, r.key());
            } else {
                needNew.add(r);
            }
        }
        // Static requests before dynamic ones, so a dynamic peer never grabs an address someone asked for.
        // A peer whose new request cannot be met keeps the address it had: a typo must not cut it off.
        for (Request r : needNew) {
            if (r.requestedAddress() == null) {
                continue;
            }
            Long wanted = parseInRange(r.requestedAddress());
            String problem = wanted == null
                    ? "requested address " + r.requestedAddress() + " is outside the usable range of " + cidr
                    : owners.containsKey(wanted) ? "requested address " + r.requestedAddress() + " is already assigned to " + owners.get(wanted)
                    : null;
            Long kept = parseInRange(previous.get(r.key()));
            if (problem == null) {
                taken.put(r.key(), wanted);
                owners.put(wanted, r.key());
            } else {
                rejected.put(r.key(), problem);
                if (kept != null && !owners.containsKey(kept)) {
                    taken.put(r.key(), kept);
                    owners.put(kept, r.key());
                }
            }
        }
        List<String> exhausted = new ArrayList<>();
        TreeSet<Long> used = new TreeSet<>(owners.keySet());
        long cursor = cidr.firstUsable();
        for (Request r : needNew) {
            if (r.requestedAddress() != null) {
                continue;
            }
            while (cursor <= cidr.lastUsable() && used.contains(cursor)) {
                cursor++;
            }
            if (cursor > cidr.lastUsable()) {
                exhausted.add(r.key());
                continue;
            }
            taken.put(r.key(), cursor);
            used.add(cursor);
        }
        Map<String, String> assigned = new TreeMap<>();
        taken.forEach((k, a) -> assigned.put(k, Ipv4Cidr.format(a)));
        return new Result(assigned, exhausted, rejected, cidr.usableCount());
    }

    private Long parseInRange(String address) {
        if (address == null) {
            return null;
        }
        try {
            long a = Ipv4Cidr.parseAddress(address);
            return cidr.containsUsable(a) ? a : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
