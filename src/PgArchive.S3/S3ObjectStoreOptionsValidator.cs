using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>Checks <see cref="S3ObjectStoreOptions"/> at start-up, reporting every broken rule, each naming its setting and WAL-G variable.</summary>
internal sealed class S3ObjectStoreOptionsValidator : IValidateOptions<S3ObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, S3ObjectStoreOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            errors.Add("S3:Bucket is required: the bucket of WALG_S3_PREFIX=s3://bucket/path.");
        }
        else if (options.Bucket.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"S3:Bucket '{options.Bucket}' must be a bucket name without '/': put the path in S3:Prefix.");
        }

        if (options.PartSize < 5 << 20)
        {
            errors.Add($"S3:PartSize (S3_MAX_PART_SIZE) must be between 5 MiB (5242880) and 2 GiB; it is {options.PartSize}.");
        }

        if (options.MaxConcurrentParts is < 1 or > 64)
        {
            errors.Add($"S3:MaxConcurrentParts must be between 1 and 64; it is {options.MaxConcurrentParts}.");
        }

        if (options.MaxRetries is < 0 or > 50)
        {
            errors.Add($"S3:MaxRetries (S3_MAX_RETRIES) must be between 0 and 50; it is {options.MaxRetries}.");
        }

        if (options.ServerSideEncryption is { Length: > 0 } sse && sse != "AES256" && sse != "aws:kms")
        {
            errors.Add($"S3:ServerSideEncryption (WALG_S3_SSE) must be AES256 or aws:kms, not '{sse}'.");
        }

        if (options.SseKmsKeyId is { Length: > 0 } && options.ServerSideEncryption != "aws:kms")
        {
            errors.Add("S3:SseKmsKeyId (WALG_S3_SSE_KMS_ID) needs S3:ServerSideEncryption (WALG_S3_SSE) = aws:kms.");
        }

        if (string.IsNullOrEmpty(options.AccessKeyId) != string.IsNullOrEmpty(options.SecretAccessKey))
        {
            errors.Add("S3:AccessKeyId (AWS_ACCESS_KEY_ID) and S3:SecretAccessKey (AWS_SECRET_ACCESS_KEY) go together: set both or neither.");
        }

        if (options.ServiceUrl is { Length: > 0 } url && !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            errors.Add($"S3:ServiceUrl (AWS_ENDPOINT) must be an absolute URL such as https://s3.example.com, not '{url}'.");
        }

        if (options.CaCertificateFile is { Length: > 0 } ca && !File.Exists(ca))
        {
            errors.Add($"S3:CaCertificateFile (WALG_S3_CA_CERT_FILE) '{ca}' does not exist.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
