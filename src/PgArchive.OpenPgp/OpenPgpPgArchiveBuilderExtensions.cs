using Microsoft.Extensions.Configuration;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Turns on WAL-G- and WAL-E-compatible OpenPGP encryption of everything PgArchive stores (except the plain-JSON sentinel and metadata).</summary>
public static class OpenPgpPgArchiveBuilderExtensions
{
    /// <summary>
    /// Encrypts with OpenPGP as WAL-G and WAL-E do (<c>WALG_PGP_KEY</c> / <c>WALG_PGP_KEY_PATH</c>,
    /// <c>WALG_PGP_KEY_PASSPHRASE</c>), with options configured elsewhere. Replaces any other encryption.
    /// </summary>
    public static IPgArchiveBuilder UsePgpEncryption(this IPgArchiveBuilder builder) => builder.UsePgpEncryption(static _ => { });

    /// <summary>Encrypts with OpenPGP as WAL-G does, with options bound from <paramref name="configuration"/> (e.g. <c>PgArchive:Pgp</c>).</summary>
    public static IPgArchiveBuilder UsePgpEncryption(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.UsePgpEncryption(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
    }

    /// <summary>Encrypts with OpenPGP as WAL-G does, with options set by <paramref name="configure"/>.</summary>
    public static IPgArchiveBuilder UsePgpEncryption(this IPgArchiveBuilder builder, Action<PgpEncryptorOptions> configure) =>
        builder.UseEncryptor(configure, static sp => new PgpEncryptorOptionsValidator(sp.GetService<TimeProvider>()),
            static (options, sp) => new PgpEncryptor(options, sp.GetService<TimeProvider>()));
}
