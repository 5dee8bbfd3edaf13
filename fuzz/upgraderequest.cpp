// The head of an HTTP upgrade request, as an unauthenticated client sends it: finding its end,
// parsing it and reading the headers a server looks at must never crash.
#include "FuzzSupport.h"

#include "server/TokenStore.h"
#include "server/UpgradeRequest.h"

using namespace wstunnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray buffer = fuzz::bytesOf(data, size).toByteArray();
    const qsizetype end = UpgradeRequest::headEnd(buffer);
    fuzz::require(end == -1 || (end > 0 && end <= buffer.size()),
                  "the head ends inside the buffer");
    const QByteArray head = end < 0 ? buffer : buffer.left(end);
    QString error;
    const std::optional<UpgradeRequest> request = UpgradeRequest::parse(head, &error);
    if (!request) {
        fuzz::require(!error.isEmpty(), "a refused head says why");
        return 0;
    }
    for (auto it = request->headers.cbegin(); it != request->headers.cend(); ++it)
        fuzz::require(it.key() == it.key().toLower(), "header names are lower-cased");
    request->isWebSocketUpgrade();
    const QByteArray token = TokenStore::bearerToken(request->header("authorization"));
    fuzz::require(token.size() <= head.size(), "a token comes from the head");
    return 0;
}
