using System.Diagnostics.CodeAnalysis;
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
    public static IPgArchiveBuilder UseLibsodiumEncryption(this IPgArchiveBuilder builder, Action<LibsodiumEncryptorOptions> configure) =>
        builder.UseEncryptor(configure, static _ => new LibsodiumEncryptorOptionsValidator(), static (options, _) => new LibsodiumEncryptor(options));

    /// <summary>
    /// Makes <typeparamref name="TOptions"/> (configured by <paramref name="configure"/>, checked at start by the validator
    /// <paramref name="validator"/> makes) the encryption options and the encryptor <paramref name="encryptor"/> makes the
    /// one everything is encrypted with, replacing any other: what each <c>Use...Encryption</c> call does.
    /// </summary>
    internal static IPgArchiveBuilder UseEncryptor<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, TValidator>(
        this IPgArchiveBuilder builder, Action<TOptions> configure,
        Func<IServiceProvider, TValidator> validator, Func<IOptions<TOptions>, IServiceProvider, IEncryptor> encryptor)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<TOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>(validator));
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => encryptor(sp.GetRequiredService<IOptions<TOptions>>(), sp)));
        return builder;
    }
}
