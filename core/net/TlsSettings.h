#pragma once

#include <QString>

namespace wstunnel {

// The server's TLS files, PEM: its certificate (chain) and key, and optionally the CA whose
// client certificates it requires (mutual TLS).
struct TlsSettings
{
    QString certFile;
    QString keyFile;
    QString clientCaFile;

    bool isEnabled() const { return !certFile.isEmpty(); }
};

} // namespace wstunnel
