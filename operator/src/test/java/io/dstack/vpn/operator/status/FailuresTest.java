package io.dstack.vpn.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;

import org.junit.jupiter.api.Test;

class FailuresTest {
    @Test
    void kindAndMessageAndTheCauseWhenTheMessageOnlyWrapsIt() {
        assertThat(Failures.describe(new IllegalStateException("conflict on VpnPeer a"))).isEqualTo("IllegalStateException: conflict on VpnPeer a");
        assertThat(Failures.describe(new NullPointerException())).isEqualTo("NullPointerException");
        IOException io = new IOException("connection refused");
        // CompletionException and friends say "java.io.IOException: connection refused": show the cause itself.
        assertThat(Failures.describe(new RuntimeException(io))).isEqualTo("IOException: connection refused");
        // A message of its own wins over the cause.
        assertThat(Failures.describe(new UncheckedIOException("writing status.address of b", io)))
                .isEqualTo("UncheckedIOException: writing status.address of b");
    }
}
