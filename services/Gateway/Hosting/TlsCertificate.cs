using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ChatPlatform.Gateway.Hosting;

/// <summary>The gateway's TLS certificate: the configured one, or in Development a self-signed one made on first run.</summary>
public static class TlsCertificate
{
    public static X509Certificate2? Load(GatewayOptions options, IHostEnvironment environment)
    {
        if (options.CertificatePath.Length > 0)
        {
            return X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.CertificatePassword);
        }

        if (!environment.IsDevelopment())
        {
            // Outside Development, Kestrel's own configuration (Kestrel:Certificates:Default) must supply it.
            return null;
        }

        var path = options.DevCertificatePath.Length > 0
            ? options.DevCertificatePath
            : Path.Combine(AppContext.BaseDirectory, "dev-cert.pfx");
        if (File.Exists(path))
        {
            var existing = X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
            if (existing.NotAfter > DateTime.UtcNow.AddDays(7))
            {
                return existing;
            }

            existing.Dispose();
        }

        var created = CreateSelfSigned();
        try
        {
            // Kept so browsers that were told to trust it keep trusting it across restarts.
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllBytes(path, created.Export(X509ContentType.Pkcs12));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A read-only install (a container's /app) still serves TLS, with a certificate made per start.
        }

        return created;
    }

    internal static X509Certificate2 CreateSelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=ChatPlatform development", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        // Round-trip through PKCS#12 so the private key is usable by the TLS stack on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
    }
}
