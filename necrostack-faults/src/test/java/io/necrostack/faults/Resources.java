package io.necrostack.faults;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a fault test started (servers, worker JVMs, backends), closed after each test in the
 * reverse order of {@link #add}: register with {@code @RegisterExtension}.
 */
final class Resources implements AfterEachCallback {
  private final List<AutoCloseable> open = new ArrayList<>();

  /** Closes {@code resource} after the test, before whatever was added earlier. */
  <T extends AutoCloseable> T add(T resource) {
    open.add(resource);
    return resource;
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    open.clear();
  }
}
