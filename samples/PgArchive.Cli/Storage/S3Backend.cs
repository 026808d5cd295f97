using Microsoft.Extensions.DependencyInjection;
using PgArchive.Cli.Configuration;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace PgArchive.Cli.Storage;

/// <summary>
/// <c>WALG_S3_PREFIX</c> (also <c>WALE_S3_PREFIX</c>) = <c>s3://bucket/path</c>: Amazon S3 or an S3-compatible
/// server, with WAL-G's <c>AWS_*</c> and <c>S3_*</c> variables.
/// </summary>
internal sealed class S3Backend : IStorageBackend
{
    public string Name => "s3";

    public IReadOnlyList<string> PrefixVariables { get; } = ["WALG_S3_PREFIX", "WALE_S3_PREFIX"];

    public void Configure(IPgArchiveBuilder builder, string prefix, WalgSettings settings)
    {
        var (bucket, path) = PrefixParser.Split(prefix, "s3", PrefixVariables[0]);
        var partSize = settings.GetInt64("S3_MAX_PART_SIZE") ?? settings.GetInt64("WALG_S3_MAX_PART_SIZE");
        var maxRetries = settings.GetInt64("S3_MAX_RETRIES") ?? settings.GetInt64("WALG_S3_MAX_RETRIES");
        var forcePathStyle = settings.GetBoolean("AWS_S3_FORCE_PATH_STYLE");
        var chunkEncoding = settings.GetBoolean("S3_USE_CHUNK_ENCODING");
        var checksumsWhenRequired = settings.GetBoolean("S3_CHECKSUMS_WHEN_REQUIRED");
        var batchDelete = settings.GetBoolean("S3_USE_BATCH_DELETE");
        var conditional = settings.Get("S3_CONDITIONAL_WRITES") switch
        {
            null => S3ConditionalWrites.Auto,
            var text => text.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToUpperInvariant() switch
            {
                "AUTO" => S3ConditionalWrites.Auto,
                "IFNONEMATCH" => S3ConditionalWrites.IfNoneMatch,
                "CHECKTHENPUT" => S3ConditionalWrites.CheckThenPut,
                _ => throw new PgArchiveConfigurationException($"S3_CONDITIONAL_WRITES must be auto, if-none-match or check-then-put, not '{text}'."),
            },
        };
        // S3:PartSize's rules are checked at start-up; here only what its int cannot hold.
        if (partSize > int.MaxValue)
        {
            throw new PgArchiveConfigurationException($"S3:PartSize (S3_MAX_PART_SIZE) must be between 5 MiB (5242880) and 2 GiB; it is {partSize}.");
        }

        builder.UseS3(o =>
        {
            o.Bucket = bucket;
            o.Prefix = path;
            o.ServiceUrl = settings.Get("AWS_ENDPOINT");
            o.ForcePathStyle = forcePathStyle ?? false;
            o.Region = settings.GetFirst("AWS_REGION", "AWS_DEFAULT_REGION");
            o.AccessKeyId = settings.GetFirst("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY");
            o.SecretAccessKey = settings.GetFirst("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY");
            o.SessionToken = settings.Get("AWS_SESSION_TOKEN");
            o.Profile = settings.Get("AWS_PROFILE");
            o.StorageClass = settings.GetFirst("WALG_S3_STORAGE_CLASS", "S3_STORAGE_CLASS");
            o.ServerSideEncryption = settings.GetFirst("WALG_S3_SSE", "S3_SSE");
            o.SseKmsKeyId = settings.GetFirst("WALG_S3_SSE_KMS_ID", "S3_SSE_KMS_ID");
            o.CaCertificateFile = settings.GetFirst("WALG_S3_CA_CERT_FILE", "S3_CA_CERT_FILE");
            o.PartSize = (int)(partSize ?? S3ObjectStoreOptions.DefaultPartSize);
            o.MaxRetries = (int)Math.Clamp(maxRetries ?? 5, 0, 50);
            o.UseChunkEncoding = chunkEncoding ?? true;
            o.ChecksumsOnlyWhenRequired = checksumsWhenRequired ?? false;
            o.UseBatchDelete = batchDelete ?? true;
            o.ConditionalWrites = conditional;
        });
    }
}

/// <summary>Splits WAL-G's <c>scheme://container/path</c> prefixes.</summary>
internal static class PrefixParser
{
    public static (string Container, string Path) Split(string prefix, string scheme, string variable)
    {
        var start = scheme + "://";
        if (!prefix.StartsWith(start, StringComparison.OrdinalIgnoreCase))
        {
            throw new PgArchiveConfigurationException($"{variable} must look like {start}container/path, not '{prefix}'.");
        }

        var rest = prefix[start.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (container.Length == 0)
        {
            throw new PgArchiveConfigurationException($"{variable} '{prefix}' names no bucket or container: use {start}container/path.");
        }

        return (container, path);
    }
}
