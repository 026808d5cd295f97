using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PgArchive.Daemon;
using PgArchive.DependencyInjection;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="WalDaemon"/>: wal-push and wal-fetch served on a Unix domain socket in WAL-G's daemon protocol.</summary>
public static class WalDaemonPgArchiveBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="WalDaemon"/> and runs it as a hosted service of the host, over the same archive services as
    /// the rest of PgArchive (one store for the daemon's life); <paramref name="configure"/> sets its <see cref="WalDaemonOptions"/>.
    /// </summary>
    public static IPgArchiveBuilder AddWalDaemon(this IPgArchiveBuilder builder, Action<WalDaemonOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<WalDaemonOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WalDaemonOptions>, WalDaemonOptionsValidator>());
        builder.Services.TryAddSingleton<WalDaemon>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WalDaemon>());
        return builder;
    }

    /// <summary>Registers <see cref="WalDaemon"/> with options bound from <paramref name="configuration"/> (e.g. <c>PgArchive:WalDaemon</c>); unknown keys are an error.</summary>
    public static IPgArchiveBuilder AddWalDaemon(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddWalDaemon(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
    }
}
