namespace PgArchive.Storage;

/// <summary>
/// Credentials from a named profile and from the SDK's default chain (environment variables). These tests set
/// process environment variables, so they run alone.
/// </summary>
[Collection(NotInParallel.Name)]
public sealed class S3CredentialTests(S3rverFixture server) : IDisposable
{
    private readonly string _credentialsFile = Path.Combine(Path.GetTempPath(), "pgarchive-aws-credentials-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string?> _saved = [];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private void SetEnvironment(string name, string? value)
    {
        _saved.TryAdd(name, Environment.GetEnvironmentVariable(name));
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        File.Delete(_credentialsFile);
    }

    [Fact]
    public async Task Named_profile_supplies_the_keys()
    {
        await File.WriteAllTextAsync(_credentialsFile,
            $"[pgarchive-test]\naws_access_key_id = {server.Server["S3_ACCESS_KEY"]}\naws_secret_access_key = {server.Server["S3_SECRET_KEY"]}\n", Token);
        SetEnvironment("AWS_SHARED_CREDENTIALS_FILE", _credentialsFile);
        var options = server.Options();
        options.AccessKeyId = null;
        options.SecretAccessKey = null;
        options.Profile = "pgarchive-test";
        using var store = new S3ObjectStore(options);

        await store.PutAsync("from-profile", new MemoryStream([5]), cancellationToken: Token);

        Assert.Equal(1, (await store.GetInfoAsync("from-profile", Token))?.Size);
        await store.DeleteAsync(["from-profile"], Token);
    }

    [Fact]
    public void Missing_profile_is_access_denied_naming_the_profile()
    {
        SetEnvironment("AWS_SHARED_CREDENTIALS_FILE", _credentialsFile);
        var options = server.Options();
        options.AccessKeyId = null;
        options.SecretAccessKey = null;
        options.Profile = "no-such-profile";

        var ex = Assert.Throws<ObjectStoreException>(() => new S3ObjectStore(options));

        Assert.Equal(ObjectStoreErrorKind.AccessDenied, ex.Kind);
        Assert.Contains("'no-such-profile' (AWS_PROFILE)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_keys_or_profile_the_default_chain_reads_the_environment()
    {
        SetEnvironment("AWS_ACCESS_KEY_ID", server.Server["S3_ACCESS_KEY"]);
        SetEnvironment("AWS_SECRET_ACCESS_KEY", server.Server["S3_SECRET_KEY"]);
        var options = server.Options();
        options.AccessKeyId = null;
        options.SecretAccessKey = null;
        using var store = new S3ObjectStore(options);

        await store.PutAsync("from-environment", new MemoryStream([6]), cancellationToken: Token);

        Assert.Equal(1, (await store.GetInfoAsync("from-environment", Token))?.Size);
        await store.DeleteAsync(["from-environment"], Token);
    }
}
