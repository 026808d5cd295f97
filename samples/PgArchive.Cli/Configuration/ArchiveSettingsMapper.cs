using Microsoft.Extensions.DependencyInjection;
using PgArchive.Authentication;
using PgArchive.Cli.Storage;
using PgArchive.Compression;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;

namespace PgArchive.Cli.Configuration;

/// <summary>
/// The one place where WAL-G's variables become PgArchive's options: storage (through
/// <see cref="StorageBackends"/>), compression and its levels, encryption, authentication, partitioning.
/// </summary>
internal static class ArchiveSettingsMapper
{
    public static void Apply(WalgSettings settings, PgArchiveOptions options)
    {
        if (settings.Get("WALG_COMPRESSION_METHOD") is { } method)
        {
            options.CompressionMethod = method;
        }

        if (settings.GetInt64("WALG_TAR_SIZE_THRESHOLD") is { } threshold)
        {
            options.TarSizeThreshold = threshold;
        }

        if (settings.GetBoolean("WALG_VERIFY_PAGE_CHECKSUMS") is { } verifyPages)
        {
            options.VerifyPageChecksums = verifyPages;
        }

        if (settings.GetInt64("WALG_DELTA_MAX_STEPS") is { } maxSteps)
        {
            options.DeltaMaxSteps = maxSteps is >= 0 and <= int.MaxValue
                ? (int)maxSteps
                : throw new PgArchiveConfigurationException($"WALG_DELTA_MAX_STEPS must be 0 or more, not {maxSteps}.");
        }

        if (settings.Get("WALG_DELTA_ORIGIN") is { } origin)
        {
            options.DeltaOrigin = origin;
        }

        if (settings.GetBoolean("WALG_USE_WAL_DELTA") is { } useWalDelta)
        {
            options.UseWalDelta = useWalDelta;
        }

        if (settings.Get("PGARCHIVE_DELTA_BLOCK_SOURCE") is { } blockSource)
        {
            options.DeltaBlockSource = blockSource.Trim().ToLowerInvariant() switch
            {
                "auto" => DeltaBlockSource.Auto,
                "scan" => DeltaBlockSource.Scan,
                _ => throw new PgArchiveConfigurationException($"PGARCHIVE_DELTA_BLOCK_SOURCE must be auto or scan, not '{blockSource}'."),
            };
        }

        if (settings.GetBoolean("WALG_STORE_ALL_CORRUPT_BLOCKS") is { } storeAll)
        {
            options.StoreAllCorruptBlocks = storeAll;
        }

        if (settings.GetBoolean("WALG_TAR_DISABLE_FSYNC") is { } disableFsync)
        {
            options.SyncRestoredFiles = !disableFsync;
        }

        options.UploadConcurrency = PositiveInt(settings, "WALG_UPLOAD_CONCURRENCY") ?? options.UploadConcurrency;
        options.UploadDiskConcurrency = PositiveInt(settings, "WALG_UPLOAD_DISK_CONCURRENCY") ?? options.UploadDiskConcurrency;
        options.DirectReads = settings.GetBoolean("PGARCHIVE_DIRECT_READS") ?? options.DirectReads;
        options.DownloadConcurrency = PositiveInt(settings, "WALG_DOWNLOAD_CONCURRENCY") ?? options.DownloadConcurrency;
        options.DiskRateLimit = Rate(settings, "WALG_DISK_RATE_LIMIT") ?? options.DiskRateLimit;
        options.NetworkRateLimit = Rate(settings, "WALG_NETWORK_RATE_LIMIT") ?? options.NetworkRateLimit;

        if (GetInt32(settings, "PGARCHIVE_STORE_RETRIES") is { } retries)
        {
            options.StoreRetries = retries >= 0 ? retries : throw new PgArchiveConfigurationException($"PGARCHIVE_STORE_RETRIES must be 0 or more, not {retries}.");
        }

        if (settings.Get("PGARCHIVE_STORE_RETRY_DELAY") is { } delay)
        {
            options.StoreRetryDelay = double.TryParse(delay, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                && seconds is >= 0 and <= 60
                    ? TimeSpan.FromSeconds(seconds)
                    : throw new PgArchiveConfigurationException($"PGARCHIVE_STORE_RETRY_DELAY '{delay}' must be a number of seconds between 0 and 60.");
        }
    }

    /// <summary>
    /// wal-push's parallelism (WALG_UPLOAD_CONCURRENCY, default 16): the requested file plus up to this many − 1
    /// segments already marked .ready, uploaded ahead. WALG_UPLOAD_CONCURRENCY=1 pushes only the requested file.
    /// </summary>
    public static int WalUploadConcurrency(WalgSettings settings) => PositiveInt(settings, "WALG_UPLOAD_CONCURRENCY") ?? 16;

    private static long? Rate(WalgSettings settings, string name) =>
        settings.GetInt64(name) switch
        {
            < 1 and var value => throw new PgArchiveConfigurationException($"{name} must be a rate in bytes per second, 1 or more, not {value}; leave it unset for no limit."),
            var value => value,
        };

    private static int? PositiveInt(WalgSettings settings, string name) =>
        settings.GetInt64(name) switch
        {
            null => null,
            < 1 and var value => throw new PgArchiveConfigurationException($"{name} must be 1 or more, not {value}."),
            > 1024 and var value => throw new PgArchiveConfigurationException($"{name} must be at most 1024, not {value}."),
            var value => (int)value.Value,
        };

    /// <summary>wal-verify's windows: WALG_INTEGRITY_MAX_DELAYED_WALS (default 0) and WALG_UPLOAD_CONCURRENCY (default 16), as WAL-G reads them.</summary>
    public static (int Delayed, int Uploading) WalVerifyWindows(WalgSettings settings)
    {
        var delayed = settings.GetInt64("WALG_INTEGRITY_MAX_DELAYED_WALS") ?? 0;
        var uploading = settings.GetInt64("WALG_UPLOAD_CONCURRENCY") ?? 16;
        if (delayed is < 0 or > int.MaxValue)
        {
            throw new PgArchiveConfigurationException($"WALG_INTEGRITY_MAX_DELAYED_WALS must be 0 or more, not {delayed}.");
        }

        if (uploading is < 1 or > int.MaxValue)
        {
            throw new PgArchiveConfigurationException($"WALG_UPLOAD_CONCURRENCY must be 1 or more, not {uploading}.");
        }

        return ((int)delayed, (int)uploading);
    }

    /// <summary>
    /// The configured backend, plus — for testing only — <c>PGARCHIVE_FAULT_INJECTION=RATE[:SEED[:OPS]]</c> or
    /// <c>permanent[:OPS]</c>, which wraps it in a <see cref="PgArchive.Storage.FaultInjectingObjectStore"/>.
    /// </summary>
    public static void ConfigureStorage(IPgArchiveBuilder builder, WalgSettings settings)
    {
        StorageBackends.Configure(builder, settings);
        if (settings.Get("PGARCHIVE_FAULT_INJECTION") is { } faults)
        {
            builder.UseFaultInjection(PgArchive.Storage.FaultInjectionOptions.Parse(faults));
        }
    }

    /// <summary>
    /// Compression levels: <c>WALG_ZSTD_LEVEL</c> (WAL-G's names fastest | default | better | best, or 1-22), and
    /// PgArchive's own <c>PGARCHIVE_BROTLI_QUALITY</c> (0-11, default 3 as WAL-G), <c>PGARCHIVE_LZMA_DICTIONARY_SIZE</c>
    /// (bytes, default 8 MiB as WAL-G) and <c>PGARCHIVE_LZMA_FAST_BYTES</c> (5-273, default 32). Reading never needs them.
    /// </summary>
    public static void ConfigureCompression(IPgArchiveBuilder builder, WalgSettings settings)
    {
        if (settings.Get("WALG_ZSTD_LEVEL") is { } zstdLevel)
        {
            var method = settings.Get("WALG_COMPRESSION_METHOD") ?? "lz4";
            if (!string.Equals(method, "zstd", StringComparison.OrdinalIgnoreCase))
            {
                // As WAL-G: a level for a codec that is not in use is a mistake worth reporting.
                throw new PgArchiveConfigurationException($"WALG_ZSTD_LEVEL is set but WALG_COMPRESSION_METHOD is '{method}', not 'zstd'.");
            }

            var level = ZstdCompressorOptions.ParseLevel(zstdLevel);
            builder.Services.Configure<ZstdCompressorOptions>(o => o.Level = level);
        }

        if (GetInt32(settings, "PGARCHIVE_BROTLI_QUALITY") is { } quality)
        {
            builder.Services.Configure<BrotliCompressorOptions>(o => o.Quality = quality);
        }

        if (GetInt32(settings, "PGARCHIVE_LZMA_DICTIONARY_SIZE") is { } dictionary)
        {
            builder.Services.Configure<LzmaCompressorOptions>(o => o.DictionarySize = dictionary);
        }

        if (GetInt32(settings, "PGARCHIVE_LZMA_FAST_BYTES") is { } fastBytes)
        {
            builder.Services.Configure<LzmaCompressorOptions>(o => o.FastBytes = fastBytes);
        }
    }

    /// <summary>
    /// Encryption, chosen as WAL-G chooses: OpenPGP when <c>WALG_PGP_KEY</c> or <c>WALG_PGP_KEY_PATH</c> is set
    /// (with <c>WALG_PGP_KEY_PASSPHRASE</c>), else libsodium when <c>WALG_LIBSODIUM_KEY</c> or
    /// <c>WALG_LIBSODIUM_KEY_PATH</c> is set (with <c>WALG_LIBSODIUM_KEY_TRANSFORM</c>), else none. WAL-E's
    /// <c>WALE_GPG_KEY_ID</c> / WAL-G's deprecated <c>WALG_GPG_KEY_ID</c> name a key in gpg's keyring, which
    /// PgArchive does not read: they map to <c>WALG_PGP_KEY_PATH</c> holding that key exported, and setting them
    /// alone is an error that says so. Key values only ever reach the options, never a message.
    /// </summary>
    public static void ConfigureEncryption(IPgArchiveBuilder builder, WalgSettings settings)
    {
        var pgpKey = settings.Get("WALG_PGP_KEY");
        var pgpKeyPath = settings.Get("WALG_PGP_KEY_PATH");
        if (pgpKey is not null || pgpKeyPath is not null)
        {
            var passphrase = settings.Get("WALG_PGP_KEY_PASSPHRASE");
            builder.UsePgpEncryption(o =>
            {
                o.Key = pgpKey;
                o.KeyPath = pgpKeyPath;
                o.Passphrase = passphrase;
            });
            return;
        }

        if (settings.Get("WALE_GPG_KEY_ID") is not null || settings.Get("WALG_GPG_KEY_ID") is not null)
        {
            var variable = settings.Get("WALE_GPG_KEY_ID") is not null ? "WALE_GPG_KEY_ID" : "WALG_GPG_KEY_ID";
            throw new PgArchiveConfigurationException(
                $"{variable} names a key in gpg's keyring, which pgarchive does not read. Export that key once " +
                $"(gpg --export-secret-keys --armor {settings.Get(variable)} > key.asc; for archiving only, gpg --export --armor) " +
                "and set WALG_PGP_KEY_PATH to the file (and WALG_PGP_KEY_PASSPHRASE if the key has one): the archive stays readable as before.");
        }

        if (LibsodiumOptions(settings) is { } libsodium)
        {
            builder.UseLibsodiumEncryption(o =>
            {
                o.Key = libsodium.Key;
                o.KeyPath = libsodium.KeyPath;
                o.KeyTransform = libsodium.KeyTransform;
            });
        }
    }

    /// <summary>The libsodium options when libsodium is the archive's encryption (a libsodium key set and no OpenPGP key), else null.</summary>
    private static LibsodiumEncryptorOptions? LibsodiumOptions(WalgSettings settings)
    {
        var key = settings.Get("WALG_LIBSODIUM_KEY");
        var keyPath = settings.Get("WALG_LIBSODIUM_KEY_PATH");
        if ((key is null && keyPath is null) || settings.Get("WALG_PGP_KEY") is not null || settings.Get("WALG_PGP_KEY_PATH") is not null)
        {
            return null;
        }

        return new LibsodiumEncryptorOptions { Key = key, KeyPath = keyPath, KeyTransform = ParseKeyTransform(settings, "WALG_LIBSODIUM_KEY_TRANSFORM") };
    }

    /// <summary>
    /// Authenticated archives, PgArchive's own: <c>PGARCHIVE_AUTH_KEY</c> or <c>PGARCHIVE_AUTH_KEY_PATH</c> (with
    /// <c>PGARCHIVE_AUTH_KEY_TRANSFORM</c> none | base64 | hex) gives the key; <c>PGARCHIVE_AUTHENTICATE=true</c> alone derives
    /// it from the libsodium key. Off when none is set; <c>PGARCHIVE_AUTHENTICATE=false</c> with a key is a contradiction.
    /// </summary>
    public static void ConfigureAuthentication(IPgArchiveBuilder builder, WalgSettings settings)
    {
        if (AuthenticationOptions(settings) is { } authentication)
        {
            builder.UseArchiveAuthentication(o =>
            {
                o.Key = authentication.Key;
                o.KeyPath = authentication.KeyPath;
                o.KeyTransform = authentication.KeyTransform;
                o.DeriveFromEncryptionKey = authentication.DeriveFromEncryptionKey;
            });
        }
    }

    /// <summary>
    /// Names the authentication key the settings give without revealing it (<see cref="ArchiveAuthenticationKey.Identity"/>),
    /// or null when authentication is off: part of the settings hash wal-push's markers record, so a marker written without authentication, or
    /// with another key, never lets a push skip storing the segment's record.
    /// </summary>
    public static string? AuthenticationIdentity(WalgSettings settings) =>
        AuthenticationOptions(settings) is { } authentication
            ? ArchiveAuthenticationKey.Load(authentication, LibsodiumOptions(settings)).Identity
            : null;

    private static ArchiveAuthenticationOptions? AuthenticationOptions(WalgSettings settings)
    {
        var key = settings.Get("PGARCHIVE_AUTH_KEY");
        var keyPath = settings.Get("PGARCHIVE_AUTH_KEY_PATH");
        var authenticate = settings.GetBoolean("PGARCHIVE_AUTHENTICATE");
        var given = key is not null || keyPath is not null;
        if (authenticate == false)
        {
            return given
                ? throw new PgArchiveConfigurationException("PGARCHIVE_AUTHENTICATE=false contradicts PGARCHIVE_AUTH_KEY / PGARCHIVE_AUTH_KEY_PATH: unset one of them.")
                : null;
        }

        if (!given && authenticate != true)
        {
            return null;
        }

        return new ArchiveAuthenticationOptions
        {
            Key = key,
            KeyPath = keyPath,
            KeyTransform = ParseKeyTransform(settings, "PGARCHIVE_AUTH_KEY_TRANSFORM"),
            DeriveFromEncryptionKey = !given,
        };
    }

    private static LibsodiumKeyTransform ParseKeyTransform(WalgSettings settings, string variable) => settings.Get(variable) switch
    {
        null => LibsodiumKeyTransform.None,
        var value => value.ToUpperInvariant() switch
        {
            "NONE" => LibsodiumKeyTransform.None,
            "BASE64" => LibsodiumKeyTransform.Base64,
            "HEX" => LibsodiumKeyTransform.Hex,
            _ => throw new PgArchiveConfigurationException($"{variable} must be none, base64 or hex, not '{value}'."),
        },
    };

    private static int? GetInt32(WalgSettings settings, string name) =>
        settings.GetInt64(name) is { } value ? (int)Math.Clamp(value, int.MinValue, int.MaxValue) : null;
}
