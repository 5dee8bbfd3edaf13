// -L and -R specs and [HOST:]PORT endpoints as a user types them: parsing must never crash, and a
// spec that parses must read back the same from its own toString(), which logs, readiness lines
// and saved profiles print.
#include "FuzzSupport.h"

#include "config/ForwardSpec.h"

using namespace wstunnel;

namespace {

// Text is trimmed before parsing, so a host that begins or ends with white space (in brackets,
// say) cannot read back the same; such a host names nothing anyway.
bool paddedHost(const QString &host)
{
    return host != host.trimmed();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QString text = QString::fromUtf8(fuzz::bytesOf(data, size));
    for (const ForwardSpec::Direction direction :
         {ForwardSpec::Direction::Local, ForwardSpec::Direction::Reverse}) {
        QString error;
        const std::optional<ForwardSpec> spec = ForwardSpec::parse(text, direction, &error);
        if (!spec) {
            fuzz::require(!error.isEmpty(), "a refused spec says why");
            continue;
        }
        fuzz::require(spec->targetPort != 0 && !spec->targetHost.isEmpty(), "a spec has a target");
        if (paddedHost(spec->bindHost) || paddedHost(spec->targetHost))
            continue;
        QString reparseError;
        const std::optional<ForwardSpec> again =
            ForwardSpec::parse(spec->toString(), direction, &reparseError);
        fuzz::require(again && *again == *spec, "a spec reads back the same from toString()");
    }
    QString host;
    quint16 port = 0;
    QString error;
    if (parseEndpoint(text, &host, &port, &error) && !paddedHost(host)) {
        QString againHost;
        quint16 againPort = 0;
        fuzz::require(parseEndpoint(formatEndpoint(host, port), &againHost, &againPort, &error) &&
                          againHost == host && againPort == port,
                      "an endpoint reads back the same from formatEndpoint()");
    }
    return 0;
}
