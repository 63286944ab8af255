package io.dstack.vpn.agent;

import io.dstack.vpn.agent.uapi.DeviceState;

/** Where the applier reports what it applied ({@link StatusReporter}; a recorder in tests). */
interface AppliedStatus {

    /** @param device the device as just read, for the stats; null reports none */
    void report(long generation, int peersConfigured, DeviceState device, String error);
}
