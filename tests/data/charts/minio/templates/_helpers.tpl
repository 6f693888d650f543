{{- define "minio.secretName" -}}
{{- .Values.existingSecret | default "minio" -}}
{{- end -}}

{{/* As upstream: the existing Secret's value when the cluster is reachable, else a new random one. */}}
{{- define "minio.root.password" -}}
{{- $found := (lookup "v1" "Secret" .Release.Namespace "minio").data -}}
{{- if $found -}}{{- index $found "rootPassword" | b64dec -}}{{- else -}}{{- randAlphaNum 40 -}}{{- end -}}
{{- end -}}

{{- define "minio.pod" -}}
metadata:
  labels:
    app.kubernetes.io/name: minio
spec:
  serviceAccountName: minio
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: minio
      image: registry.example.test/minio:1.0.0
      securityContext:
        allowPrivilegeEscalation: false
        capabilities:
          drop: ["ALL"]
      env:
        - name: MINIO_ROOT_USER
          valueFrom:
            secretKeyRef:
              name: {{ include "minio.secretName" . }}
              key: rootUser
        - name: MINIO_ROOT_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ include "minio.secretName" . }}
              key: rootPassword
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
{{- end -}}
