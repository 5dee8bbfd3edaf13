#include "DescriptorLimit.h"

#include "Logging.h"

#include <sys/resource.h>

namespace wstunnel::DescriptorLimit {

long raiseToHardLimit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    qCDebug(lcNet).noquote() << QStringLiteral("open-file limit %1 (hard limit %2)")
                                    .arg(qulonglong(limit.rlim_cur))
                                    .arg(qulonglong(limit.rlim_max));
    return long(limit.rlim_cur);
}

long current()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    return long(limit.rlim_cur);
}

} // namespace wstunnel::DescriptorLimit
