using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PgArchive.Authentication;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Turns on authenticated archives: every object PgArchive stores is signed (HMAC-SHA256 over its name, size and
/// SHA-256, in a record under <c>pgarchive_auth/</c>) and every object it reads must verify, or the command fails
/// naming the object. See <see cref="AuthenticatingObjectStore"/>.
/// </summary>
public static class AuthenticationPgArchiveBuilderExtensions
{
    /// <summary>Authenticates the archive with options configured elsewhere (e.g. bound by the host).</summary>
    public static IPgArchiveBuilder UseArchiveAuthentication(this IPgArchiveBuilder builder) => builder.UseArchiveAuthentication(static _ => { });

    /// <summary>Authenticates the archive with options bound from <paramref name="configuration"/> (e.g. <c>PgArchive:Authentication</c>).</summary>
    public static IPgArchiveBuilder UseArchiveAuthentication(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.UseArchiveAuthentication(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
    }

    /// <summary>
    /// Authenticates the archive with options set by <paramref name="configure"/>: a key of at least 32 bytes
    /// (<see cref="ArchiveAuthenticationOptions.Key"/> or <see cref="ArchiveAuthenticationOptions.KeyPath"/>), or one
    /// derived from the libsodium key (<see cref="ArchiveAuthenticationOptions.DeriveFromEncryptionKey"/>; call
    /// <c>UseLibsodiumEncryption</c> too). The key is read and checked at start-up.
    /// </summary>
    public static IPgArchiveBuilder UseArchiveAuthentication(this IPgArchiveBuilder builder, Action<ArchiveAuthenticationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<ArchiveAuthenticationOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ArchiveAuthenticationOptions>, ArchiveAuthenticationOptionsValidator>(
            sp => new ArchiveAuthenticationOptionsValidator(sp)));
        // In front of the retry layer, for every service (see AddPgArchive).
        builder.Services.TryAddSingleton(sp => new AuthenticatingObjectStore(
            sp.GetRequiredService<RetryingObjectStore>(), LoadKey(sp.GetRequiredService<IOptions<ArchiveAuthenticationOptions>>().Value, sp)));
        return builder;
    }

    /// <summary>The key the options give; the libsodium options are passed on only when the archive is encrypted with libsodium.</summary>
    internal static ArchiveAuthenticationKey LoadKey(ArchiveAuthenticationOptions options, IServiceProvider services) =>
        ArchiveAuthenticationKey.Load(options, options.DeriveFromEncryptionKey && services.GetService<IEncryptor>() is LibsodiumEncryptor
            ? services.GetRequiredService<IOptions<LibsodiumEncryptorOptions>>().Value
            : null);
}
