using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Turns on WAL-G-compatible encryption of everything PgArchive stores (except the plain-JSON sentinel and metadata).</summary>
public static class EncryptionPgArchiveBuilderExtensions
{
    /// <summary>
    /// Encrypts with libsodium's secretstream as WAL-G does (<c>WALG_LIBSODIUM_KEY</c> / <c>WALG_LIBSODIUM_KEY_PATH</c>),
    /// with options configured elsewhere (e.g. bound by the host). Replaces any other encryption.
    /// </summary>
    public static IPgArchiveBuilder UseLibsodiumEncryption(this IPgArchiveBuilder builder) => builder.UseLibsodiumEncryption(static _ => { });

    /// <summary>Encrypts with libsodium's secretstream as WAL-G does, with options bound from <paramref name="configuration"/> (e.g. <c>PgArchive:Libsodium</c>).</summary>
    public static IPgArchiveBuilder UseLibsodiumEncryption(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.UseLibsodiumEncryption(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
    }

    /// <summary>Encrypts with libsodium's secretstream as WAL-G does, with options set by <paramref name="configure"/>.</summary>
    public static IPgArchiveBuilder UseLibsodiumEncryption(this IPgArchiveBuilder builder, Action<LibsodiumEncryptorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<LibsodiumEncryptorOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LibsodiumEncryptorOptions>, LibsodiumEncryptorOptionsValidator>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IEncryptor>(
            sp => new LibsodiumEncryptor(sp.GetRequiredService<IOptions<LibsodiumEncryptorOptions>>())));
        return builder;
    }
}
