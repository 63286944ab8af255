package io.dstack.vpn.operator.ipam;

/** An IPv4 range such as 10.100.0.0/24, with the arithmetic IPAM needs. */
public record Ipv4Cidr(long network, int prefix) {

    public static Ipv4Cidr parse(String cidr) {
        int slash = cidr == null ? -1 : cidr.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not a CIDR (expected a.b.c.d/n): " + cidr);
        }
        int prefix;
        try {
            prefix = Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a CIDR prefix length: " + cidr);
        }
        if (prefix < 0 || prefix > 32) {
            throw new IllegalArgumentException("prefix length out of range 0..32: " + cidr);
        }
        long address = parseAddress(cidr.substring(0, slash));
        long mask = mask(prefix);
        if ((address & ~mask & 0xFFFFFFFFL) != 0) {
            throw new IllegalArgumentException("host bits are set in " + cidr);
        }
        return new Ipv4Cidr(address, prefix);
    }

    public static long parseAddress(String dotted) {
        String[] parts = dotted.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + dotted);
        }
        long value = 0;
        for (String p : parts) {
            int octet;
            try {
                octet = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not an IPv4 address: " + dotted);
            }
            if (octet < 0 || octet > 255 || p.isEmpty() || p.length() > 3) {
                throw new IllegalArgumentException("not an IPv4 address: " + dotted);
            }
            value = (value << 8) | octet;
        }
        return value;
    }

    public static String format(long address) {
        return ((address >> 24) & 255) + "." + ((address >> 16) & 255) + "." + ((address >> 8) & 255) + "." + (address & 255);
    }

    private static long mask(int prefix) {
        return prefix == 0 ? 0 : (0xFFFFFFFFL << (32 - prefix)) & 0xFFFFFFFFL;
    }

    /** First address peers may get: the network address itself is never handed out. */
    public long firstUsable() {
        return prefix >= 31 ? network : network + 1;
    }

    /** Last address peers may get: the broadcast address is never handed out. */
    public long lastUsable() {
        long broadcast = network + size() - 1;
        return prefix >= 31 ? broadcast : broadcast - 1;
    }

    public long size() {
        return 1L << (32 - prefix);
    }

    public long usableCount() {
        return lastUsable() - firstUsable() + 1;
    }

    public boolean containsUsable(long address) {
        return address >= firstUsable() && address <= lastUsable();
    }

    @Override
    public String toString() {
        return format(network) + "/" + prefix;
    }
}
