using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>Checks <see cref="S3ObjectStoreOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class S3ObjectStoreOptionsValidator : IValidateOptions<S3ObjectStoreOptions>;

/// <summary>Checks the rules between <see cref="S3ObjectStoreOptions"/>' properties, reporting every broken one.</summary>
internal sealed class S3ObjectStoreOptionsRules : IValidateOptions<S3ObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, S3ObjectStoreOptions options)
    {
        var errors = new List<string>();
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

        if (options.Bucket.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"S3:Bucket '{options.Bucket}' must be a bucket name without '/': put the path in S3:Prefix.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
