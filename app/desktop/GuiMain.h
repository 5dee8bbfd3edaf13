#pragma once

namespace wstunnel {

// The desktop app: single instance, tray, mapping editor. Returns the exit code.
int runGui(int argc, char *argv[]);

} // namespace wstunnel
