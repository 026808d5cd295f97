using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
        var options = builder.Services.AddOptions<WalReceiverOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WalReceiverOptions>, WalReceiverOptionsValidator>());
        PgArchiveServiceCollectionExtensions.AddOverRetryingStore<WalReceiver>(builder.Services);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WalReceiver>());
        return builder;
    }

    /// <summary>Registers <see cref="WalReceiver"/> with options bound from <paramref name="configuration"/> (e.g. <c>PgArchive:WalReceiver</c>); unknown keys are an error.</summary>
    public static IPgArchiveBuilder AddWalReceiver(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddWalReceiver(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
    }
}
