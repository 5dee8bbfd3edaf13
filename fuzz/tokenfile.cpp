// Token files of the remote, the hub's desktops and the hub's agents: reading them must never
// crash, and what counts as a token line is trimmed, non-empty and no comment.
#include "FuzzSupport.h"

#include "hub/HubTokenFile.h"
#include "server/TokenFile.h"
#include "server/TokenStore.h"

using namespace wstunnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fuzz::InputFile file(QStringLiteral("tokens"));
    const QString &path = file.write(fuzz::bytesOf(data, size));

    QString error;
    const std::optional<QList<TokenFileLine>> lines = readTokenFile(path, &error);
    fuzz::require(lines.has_value() == error.isEmpty(), "a token file gives lines or an error");
    int previous = 0;
    for (const TokenFileLine &line : lines.value_or(QList<TokenFileLine>())) {
        fuzz::require(!line.text.isEmpty() && line.text == line.text.trimmed() &&
                          !line.text.startsWith('#') && !line.text.contains('\n'),
                      "a token line is trimmed, non-empty and no comment");
        fuzz::require(line.number > previous, "line numbers increase");
        previous = line.number;
    }

    TokenStore remoteTokens;
    QString remoteError;
    if (remoteTokens.loadFile(path, &remoteError)) {
        fuzz::require(!remoteTokens.isEmpty(), "a loaded token file holds a token");
        // The first lines only: each check hashes against every token.
        for (const TokenFileLine &line : lines->mid(0, 8))
            fuzz::require(remoteTokens.accepts(line.text), "every token line is accepted");
    }
    for (const Identity::Kind kind : {Identity::Kind::Desktop, Identity::Kind::Agent}) {
        TokenStore hubTokens;
        QString hubError;
        if (!HubTokenFile::load(path, kind, &hubTokens, &hubError))
            fuzz::require(!hubError.isEmpty(), "a refused hub token file says why");
    }
    return 0;
}
