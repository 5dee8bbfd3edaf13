// The JSON file of `wstunnel-remote --config`, for serve and hub: reading it must never crash, and
// a file it refuses says why.
#include "FuzzSupport.h"

#include "remote/RemoteOptions.h"

#include <cstdlib>

using namespace wstunnel;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    // A token from the environment, so that configs without a token file get past that check.
    setenv("WSTUNNEL_TOKEN", "fuzz-token", 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fuzz::InputFile file(QStringLiteral("config.json"));
    static const fuzz::InputFile agentTokens(QStringLiteral("agents"));
    const QString &path = file.write(fuzz::bytesOf(data, size));
    const QString program = QStringLiteral("wstunnel-remote");
    const QStringList configFlag = {QStringLiteral("--config"), path};
    for (const QStringList &arguments :
         {QStringList{program} + configFlag,
          QStringList{program, QStringLiteral("hub"), QStringLiteral("--agent-token-file"),
                      agentTokens.write("agent-token devbox\n")} +
              configFlag}) {
        QString error;
        if (!RemoteOptions::parse(arguments, &error))
            fuzz::require(!error.isEmpty(), "a refused config says why");
    }
    return 0;
}
