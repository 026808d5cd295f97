using Microsoft.Extensions.Configuration;
using PgArchive.DependencyInjection;
using PgArchive.Streaming;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="WalReceiver"/>: WAL streamed over the replication protocol into the archive.</summary>
public static class WalReceiverPgArchiveBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="WalReceiver"/> (resolvable for its <see cref="WalReceiver.Status"/>) and runs it as a hosted
    /// service of the host; <paramref name="configure"/> sets its <see cref="WalReceiverOptions"/>.
    /// </summary>
    public static IPgArchiveBuilder AddWalReceiver(this IPgArchiveBuilder builder, Action<WalReceiverOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<WalReceiverOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        PgArchiveServiceCollectionExtensions.AddOverRetryingStore<WalReceiver>(builder.Services);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WalReceiver>());
        return builder;
    }

    /// <summary>Registers <see cref="WalReceiver"/> with options bound from <paramref name="configuration"/> (e.g. <c>PgArchive:WalReceiver</c>).</summary>
    public static IPgArchiveBuilder AddWalReceiver(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddWalReceiver(o => configuration.Bind(o));
    }
}
