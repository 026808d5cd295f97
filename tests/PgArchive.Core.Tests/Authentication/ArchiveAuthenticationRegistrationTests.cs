using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;
using PgArchive.Retention;
using PgArchive.Storage;
using PgArchive.Verification;
using PgArchive.Wal;

namespace PgArchive.Authentication;

/// <summary>
/// <c>UseArchiveAuthentication</c>: every service goes through the authenticating store; the key is read and checked at
/// start-up with messages that name the setting and never the key; a key derived from the libsodium key is not that key.
/// </summary>
public sealed class ArchiveAuthenticationRegistrationTests
{
    private static readonly string HexKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ServiceProvider Build(Action<ArchiveAuthenticationOptions> configure, Action<IPgArchiveBuilder>? more = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddPgArchive().UseInMemory();
        more?.Invoke(builder);
        builder.UseArchiveAuthentication(configure);
        return services.BuildServiceProvider();
    }

    private static string[] Failures(ServiceProvider provider)
    {
        var ex = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        return ex is AggregateException many
            ? [.. many.Flatten().InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures)]
            : [.. ((OptionsValidationException)ex).Failures];
    }

    [Fact]
    public async Task Every_service_reaches_the_store_through_authentication()
    {
        using var provider = Build(o => (o.Key, o.KeyTransform) = (HexKey, LibsodiumKeyTransform.Hex));
        provider.GetRequiredService<IStartupValidator>().Validate();
        var authenticating = provider.GetRequiredService<AuthenticatingObjectStore>();
        object[] services =
        [
            provider.GetRequiredService<WalArchiver>(), provider.GetRequiredService<BackupCatalog>(), provider.GetRequiredService<BackupPusher>(),
            provider.GetRequiredService<BackupFetcher>(), provider.GetRequiredService<BackupVerifier>(), provider.GetRequiredService<RetentionPlanner>(),
            provider.GetRequiredService<WalTimelineReporter>(), provider.GetRequiredService<WalVerifier>(),
        ];
        foreach (var service in services)
        {
            var stores = service.GetType().GetFields(BindingFlags.Instance | BindingFlags.NonPublic)
                .Where(f => f.FieldType == typeof(IObjectStore)).Select(f => f.GetValue(service)).ToList();
            Assert.True(stores.Count > 0, service.GetType().Name + " holds no store");
            Assert.All(stores, s => Assert.Same(authenticating, s));
        }

        // And for real: a sentinel a bucket writer put without a record is never read as a backup by the catalog,
        // retention or wal-show: the catalog names it damaged (not authenticated), retention keeps it, wal-show leaves it out.
        var raw = provider.GetRequiredService<InMemoryObjectStore>();
        const string forged = "base_000000010000000000000004";
        await raw.PutAsync(ArchiveLayout.SentinelKey(forged), new MemoryStream("{}"u8.ToArray()), cancellationToken: Token);
        var listing = await provider.GetRequiredService<BackupCatalog>().ListDetailedAsync(Token);
        Assert.Empty(listing.Backups);
        Assert.IsType<ObjectNotAuthenticatedException>(Assert.Single(listing.Damaged, d => d.Name == forged).Error);
        var plan = await provider.GetRequiredService<RetentionPlanner>().PlanAsync(RetentionRequest.Retain(1), Token);
        Assert.DoesNotContain(forged, plan.BackupsToDelete);
        Assert.DoesNotContain(plan.ObjectsToDelete, o => o.Key.Contains(forged, StringComparison.Ordinal));
        var timelines = await provider.GetRequiredService<WalTimelineReporter>().ReportAsync(cancellationToken: Token);
        Assert.DoesNotContain(timelines.SelectMany(t => t.Backups ?? []), b => b.BackupName == forged);
    }

    [Fact]
    public void Without_UseArchiveAuthentication_nothing_is_authenticated()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        using var provider = services.BuildServiceProvider();
        Assert.Null(provider.GetService<AuthenticatingObjectStore>());
    }

    [Theory]
    [InlineData("missing", "Archive authentication needs a key: set PGARCHIVE_AUTH_KEY (PgArchive:Authentication:Key) or PGARCHIVE_AUTH_KEY_PATH (PgArchive:Authentication:KeyPath), or PGARCHIVE_AUTHENTICATE=true to derive it from the libsodium key.")]
    [InlineData("short", "The authentication key in PGARCHIVE_AUTH_KEY is 31 bytes long; it must be at least 32 (a random key from `openssl rand -hex 32` with PGARCHIVE_AUTH_KEY_TRANSFORM=hex).")]
    [InlineData("not hex", "The authentication key in PGARCHIVE_AUTH_KEY is not valid hex (PGARCHIVE_AUTH_KEY_TRANSFORM=hex).")]
    [InlineData("no file", "Cannot read the authentication key file '/nonexistent/pgarchive-auth-key' (PGARCHIVE_AUTH_KEY_PATH): it does not exist.")]
    [InlineData("derived without libsodium", "Archive authentication derived from the encryption key (PGARCHIVE_AUTHENTICATE=true, PgArchive:Authentication:DeriveFromEncryptionKey) needs libsodium encryption (WALG_LIBSODIUM_KEY or WALG_LIBSODIUM_KEY_PATH); otherwise set PGARCHIVE_AUTH_KEY or PGARCHIVE_AUTH_KEY_PATH.")]
    [InlineData("both", "Give the authentication key one way: PGARCHIVE_AUTH_KEY or PGARCHIVE_AUTH_KEY_PATH (PgArchive:Authentication:Key, KeyPath), or derive it from the libsodium key (PgArchive:Authentication:DeriveFromEncryptionKey), not both.")]
    public void A_key_that_cannot_work_fails_at_start_naming_the_setting_and_not_the_key(string mistake, string message)
    {
        var secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"; // 31 bytes in hex
        using var provider = Build(o =>
        {
            switch (mistake)
            {
                case "short":
                    (o.Key, o.KeyTransform) = (secret, LibsodiumKeyTransform.Hex);
                    break;
                case "not hex":
                    (o.Key, o.KeyTransform) = (secret + "zz", LibsodiumKeyTransform.Hex);
                    break;
                case "no file":
                    o.KeyPath = "/nonexistent/pgarchive-auth-key";
                    break;
                case "derived without libsodium":
                    o.DeriveFromEncryptionKey = true;
                    break;
                case "both":
                    (o.Key, o.DeriveFromEncryptionKey) = (secret + "00", true);
                    break;
            }
        });

        var failures = Failures(provider);

        Assert.Equal([message], failures);
        Assert.DoesNotContain(secret, string.Join(' ', failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_derived_from_the_libsodium_key_works_and_is_not_that_key()
    {
        var libsodium = new LibsodiumEncryptorOptions { Key = HexKey, KeyTransform = LibsodiumKeyTransform.Hex };
        using var provider = Build(o => o.DeriveFromEncryptionKey = true, b => b.UseLibsodiumEncryption(o => (o.Key, o.KeyTransform) = (libsodium.Key, libsodium.KeyTransform)));
        provider.GetRequiredService<IStartupValidator>().Validate();
        var store = provider.GetRequiredService<AuthenticatingObjectStore>();
        await store.PutAsync("wal_005/x", new MemoryStream([1, 2, 3]), cancellationToken: Token);

        var derived = ArchiveAuthenticationKey.Load(new ArchiveAuthenticationOptions { DeriveFromEncryptionKey = true }, libsodium);
        var encryptionKeyAsMacKey = new ArchiveAuthenticationKey(Convert.FromHexString(HexKey));

        Assert.Equal(derived.Identity, ArchiveAuthenticationKey.Load(new ArchiveAuthenticationOptions { DeriveFromEncryptionKey = true }, libsodium).Identity);
        Assert.NotEqual(encryptionKeyAsMacKey.Identity, derived.Identity);
        var readBack = new AuthenticatingObjectStore(provider.GetRequiredService<InMemoryObjectStore>(), derived);
        await using (var stream = await readBack.OpenReadAsync("wal_005/x", null, Token))
        {
            await stream.CopyToAsync(Stream.Null, Token);
        }

        var withEncryptionKey = new AuthenticatingObjectStore(provider.GetRequiredService<InMemoryObjectStore>(), encryptionKeyAsMacKey);
        await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => withEncryptionKey.OpenReadAsync("wal_005/x", null, Token));
    }

    [Fact]
    public async Task Options_bind_from_configuration_and_a_misspelt_setting_is_an_error()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PgArchive:Authentication:Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(40)),
            ["PgArchive:Authentication:KeyTransform"] = "Base64",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory().UseArchiveAuthentication(configuration.GetSection("PgArchive:Authentication"));
        using (var provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            await provider.GetRequiredService<AuthenticatingObjectStore>().PutAsync("wal_005/x", new MemoryStream([1]), cancellationToken: Token);
        }

        var misspelt = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["PgArchive:Authentication:Kee"] = "x" }).Build();
        var other = new ServiceCollection();
        other.AddPgArchive().UseInMemory().UseArchiveAuthentication(misspelt.GetSection("PgArchive:Authentication"));
        using var failing = other.BuildServiceProvider();
        Assert.Contains("Kee", Assert.ThrowsAny<Exception>(() => failing.GetRequiredService<IStartupValidator>().Validate()).Message, StringComparison.Ordinal);
    }
}
