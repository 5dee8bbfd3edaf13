#pragma once

// `benchtool delay-relay TARGET_PORT [--delay-ms D] [--rate-mbit R] [--cut-every-ms N]
// [--listen-port P]`: a loopback TCP relay that plays a long link (see delayrelay.cpp).
int runDelayRelay(int argc, char **argv);
